"""Smoke test of ``benchmarks/detection.py``: the default checks catch its 8 injected changes and flag none
of the 60 untouched columns, here at 20,000 rows (the script itself runs 100k and 1M)."""

from __future__ import annotations

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

    assert detection.main(["--rows", "20000"]) == 1
    assert "Caught 7 of 8 changes; 0 false alarm(s)" in capsys.readouterr().out
