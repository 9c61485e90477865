"""Smoke test of ``benchmarks/large_data.py`` at 20,000 rows (the script itself runs 20M): the CLI runs as
measured child processes under the ceiling, and the in-memory and chunked runs of the sample agree."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from benchscripts import load_benchmark


@pytest.fixture(scope="module")
def large_data() -> ModuleType:
    return load_benchmark("large_data.py")


@pytest.mark.timeout(180)
def test_tiny_run_prints_the_tables_and_finds_the_paths_equal(
    large_data: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json = tmp_path / "out.json"
    assert large_data.main(["--rows", "20000", "--sample-rows", "12000", "--tmp", str(tmp_path),
                            "--json", str(out_json)]) == 0
    out = capsys.readouterr().out

    assert "### 20,000 rows x 30 columns, Parquet, 8 row groups" in out
    assert "| sidecar contract create | 20,000 |" in out
    assert "| sidecar validate        | 20,000 |" in out
    assert "### The first 12,000 rows of the same data: in memory vs chunked" in out
    assert out.count("| equal ") == 2
    assert "DIFFERENT" not in out and "MISSED" not in out
    result = json.loads(out_json.read_text(encoding="utf-8"))["result"]
    assert result["sample_rows"] == 12_000
    assert result["sample"]["bodies_equal"] is True
    assert result["sample"]["reports_equal"] is True
    assert result["full"]["validate"]["status"] == "critical"  # the drifted copy is caught, not an empty report
    for step in ("create", "validate"):
        # A real reading of the sidecar process: more than the interpreter alone, under the ceiling.
        assert 50e6 < result["full"][step]["peak"] < large_data.CEILING
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # the data sets went with their temp dir


def test_equality_is_reported_when_the_paths_differ(large_data: ModuleType) -> None:
    result = {"rows": 1000, "row_groups": 8, "dataset_bytes": 1, "sample_rows": 1000,
              "full": {"create": {"seconds": 1.0, "peak": 7e8}, "validate": {"seconds": 1.0, "peak": 1e8,
                                                                             "status": "healthy"}},
              "sample": {"memory": {"create_seconds": 1.0, "validate_seconds": 1.0, "read_seconds": 1.0,
                                    "peak": 1e8},
                         "chunked": {"create_seconds": 1.0, "validate_seconds": 1.0, "peak": 1e8},
                         "cli_create": {"seconds": 1.0, "peak": 1e8}, "cli_validate": {"seconds": 1.0, "peak": 1e8},
                         "bodies_equal": False, "reports_equal": True, "status": "healthy"}}
    text = large_data.render(result)
    create_row = next(line for line in text.splitlines() if line.startswith("| sidecar contract create"))
    assert "700 MB" in create_row and "MISSED" in create_row
    assert "DIFFERENT" in text and "| equal " in text
    assert large_data.failures(result) == ["sidecar contract create peak RSS 700 MB >= 600 MB",
                                           "contract bodies differ"]
