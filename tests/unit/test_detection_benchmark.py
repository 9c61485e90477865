"""Smoke test of ``benchmarks/detection.py``: the default checks catch its 8 injected changes and flag none
of the 60 untouched columns, here at 20,000 rows (the script itself runs 100k and 1M); its false-alarm
sections run and report per report and per feature."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from benchscripts import load_benchmark


@pytest.fixture(scope="module")
def detection() -> ModuleType:
    return load_benchmark("detection.py")


@pytest.mark.timeout(60)
def test_defaults_catch_every_injected_change_and_nothing_else(detection: ModuleType) -> None:
    result = detection.run(20_000, timing=False)

    assert len(result["changes"]) == 8
    missed = {c["column"]: c["rows"] for c in result["changes"] if not c["caught"]}
    assert missed == {}
    assert result["false_alarms"] == []
    assert result["ok"] is True


def test_exit_code_is_1_when_a_change_goes_unnoticed(
    detection: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    noop = detection.Injection("no change", "f20", lambda ref, cur, column, rng: "left as drawn")
    monkeypatch.setattr(detection, "INJECTIONS", (noop, *detection.INJECTIONS[1:]))

    assert detection.main(["--rows", "20000", "--only", "power"]) == 1
    assert "Caught 7 of 8 changes; 0 false alarm(s)" in capsys.readouterr().out


@pytest.mark.timeout(120)
def test_false_alarm_sections_print_rates_per_report_and_feature(
    detection: ModuleType, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "rates.json"
    code = detection.main(["--only", "iid", "--only", "real", "--iid-sizes", "500", "--reports", "2", "--splits", "1",
                           "--json", str(out)])
    text = capsys.readouterr().out
    assert "iid 68-feature tables" in text and "| m = 500, n = 500 " in text and "| m = 20,000, n = 500 " in text
    assert "half splits of public data sets" in text and "| all 16 data sets " in text
    data = json.loads(out.read_text())
    assert [r["reports"] for r in data["iid"]] == [2, 2] and len(data["real"]) == 16
    assert all(r["features"] == 68 * r["reports"] for r in data["iid"])
    assert code == (0 if "MISSED" not in text else 1)
