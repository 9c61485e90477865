"""``sidecar validate --html FILE`` and ``--json [FILE]`` (``--out FILE`` kept): exit codes and files written."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run

from sidecar import DataContract, Status, ValidationReport
from sidecar.demo import churn_frame


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(contract folder, same-population CSV, drifted CSV)."""
    DataContract("churn", churn_frame(3000, seed=1)).save(tmp_path / "contracts")
    same, drifted = tmp_path / "same.csv", tmp_path / "drifted.csv"
    churn_frame(1500, seed=2).to_csv(same, index=False)
    churn_frame(1500, seed=3, drift=0.6).to_csv(drifted, index=False)
    return tmp_path / "contracts" / "churn", same, drifted


def test_html_and_json_files(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                             setup: tuple[Path, Path, Path]) -> None:
    contract, _, drifted = setup
    html, js = tmp_path / "out" / "r.html", tmp_path / "out" / "r.json"
    code, out, err = run(capsys, "validate", "--contract", str(contract), "--data", str(drifted),
                         "--html", str(html), "--json", str(js))
    assert code == 1  # drifted: critical reaches the default --fail-on
    report = ValidationReport.from_json(js.read_text())
    assert report.status is Status.CRITICAL
    assert report.to_text() in out  # --json FILE prints the text report, not JSON
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "uPlot" in page
    critical = sum(c["critical"] for c in report.summary.values())
    assert f'data-count="critical">{critical}<' in page
    assert f"wrote {html}" in err and f"wrote {js}" in err


def test_json_without_file_still_prints_json(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             setup: tuple[Path, Path, Path]) -> None:
    contract, same, _ = setup
    legacy = tmp_path / "legacy.json"
    code, out, _ = run(capsys, "-q", "validate", "--contract", str(contract), "--data", str(same), "--json",
                       "--out", str(legacy))
    assert code == 0
    assert ValidationReport.from_json(out) == ValidationReport.from_json(legacy.read_text())
    code, out, _ = run(capsys, "-q", "validate", "--json", "-", "--contract", str(contract), "--data", str(same))
    assert code == 0 and ValidationReport.from_json(out).status is Status.HEALTHY


@pytest.mark.parametrize("bad", ["folder", "under_a_file", "same_file"])
def test_bad_output_path_is_exit_2_and_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      setup: tuple[Path, Path, Path], bad: str) -> None:
    contract, same, _ = setup
    blocker = tmp_path / "blocker.txt"
    blocker.write_text("x")
    good = tmp_path / "new" / "r.json"
    html = {"folder": tmp_path, "under_a_file": blocker / "sub" / "r.html", "same_file": good}[bad]
    before = sorted(tmp_path.rglob("*"))
    code, out, err = run(capsys, "validate", "--contract", str(contract), "--data", str(same),
                         "--json", str(good), "--html", str(html))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("sidecar: error: --html ")
    assert sorted(tmp_path.rglob("*")) == before  # not even the valid --json file or its folder
    assert blocker.read_text() == "x"


def test_help_documents_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "--html FILE" in flat and "--json [FILE]" in flat and "same as --json FILE" in flat

