"""Family-wise verdicts: Holm over a report's noise-judged rows, the ``family_wise`` setting and its file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from sidecar import CheckResult, DataContract, Status, ValidationReport
from sidecar.checks.family import family_verdicts, holm
from sidecar.stats.nullmodels import ScaledChiSquare


def test_holm_matches_statsmodels() -> None:
    p = np.random.default_rng(0).uniform(0, 0.05, 40) ** 2
    adjusted, _, _ = holm(p)
    np.testing.assert_allclose(adjusted, multipletests(p, method="holm")[1], rtol=1e-12)


MODEL = ScaledChiSquare(df=1, scale=1.0)


def _row(value: float, column: str = "x", **details: object) -> CheckResult:
    row = CheckResult(check="distribution", column=column, status=Status.HEALTHY, value=value, warning=1.0,
                      critical=2.0, details={"p_value": MODEL.p_value(value), **details})
    return row.with_noise_model(MODEL)


def _fact(status: Status = Status.CRITICAL) -> CheckResult:
    return CheckResult(check="schema", column="gone", status=status, details={"reason": "column missing"})


def test_rows_without_a_p_value_are_neither_adjusted_nor_counted() -> None:
    rows = family_verdicts([_fact(), _row(16.0), _fact(Status.WARNING)])
    assert [r.status for r in rows] == [Status.CRITICAL, Status.CRITICAL, Status.WARNING]
    assert rows[0] == _fact() and rows[1].details["family_tests"] == 1


def test_a_finding_alone_is_critical_and_in_a_crowd_only_a_warning() -> None:
    # chi2(1) of 16: p = 6.3e-5. Alone it is below 1e-3; shared by 100 tests its adjusted p is 6.3e-3.
    (alone,) = family_verdicts([_row(16.0)])
    crowd = family_verdicts([_row(16.0)] + [_row(0.5, column=f"c{i}") for i in range(99)])
    assert alone.status is Status.CRITICAL and crowd[0].status is Status.WARNING
    assert all(r.status is Status.HEALTHY for r in crowd[1:])
    d = crowd[0].details
    assert d["p_value"] == pytest.approx(6.334e-5, rel=1e-3) and d["p_value_adjusted"] == pytest.approx(6.334e-3, 1e-3)
    assert d["false_alarm_effective"] == {"warning": 1e-4, "critical": 1e-5}
    assert d["noise_bound"] == pytest.approx(MODEL.bound(1e-5), rel=1e-5)  # the bound it was judged against


def test_bounds_in_details_agree_with_every_verdict() -> None:
    rng = np.random.default_rng(1)
    values = np.r_[rng.chisquare(1, 150), [9.0, 14.0, 18.0, 25.0, 40.0]]
    rows = family_verdicts([_row(float(v), column=f"c{i}") for i, v in enumerate(values)])
    for r in rows:
        d = r.details
        assert r.value is not None
        critical = r.value > 2.0 and r.value > d["noise_bound"] and d["p_value_adjusted"] < 1e-3
        warning = r.value > 1.0 and r.value > d["noise_bound_warning"] and d["p_value_adjusted"] < 1e-2
        expected = Status.CRITICAL if critical else Status.WARNING if warning else Status.HEALTHY
        assert r.status is expected, d
        assert d["p_value_adjusted"] >= d["p_value"]
    assert [r.status for r in rows[-5:]] == [Status.HEALTHY, Status.HEALTHY, Status.WARNING, Status.CRITICAL,
                                            Status.CRITICAL]


def test_a_row_at_least_warning_stays_so() -> None:
    (row,) = family_verdicts([_row(0.5, at_least="warning"), _row(0.5, column="y")])[:1]
    assert row.status is Status.WARNING


def test_per_check_levels_keep_each_verdict() -> None:
    rows = [_row(16.0)] + [_row(0.5, column=f"c{i}") for i in range(99)]
    rows = [r.model_copy(update={"status": Status.CRITICAL}) if r.column == "x" else r for r in rows]
    out = family_verdicts(rows, family_wise=False)
    assert out[0].status is Status.CRITICAL and out[0].details["p_value_adjusted"] == out[0].details["p_value"]
    assert out[0].details["family_tests"] == 1 and out[0].noise_model is None


# -- the contract setting ---------------------------------------------------------------------------------
def _frames(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({f"x{i}": rng.normal(0, 1, 2_000) for i in range(30)})
    cur = pd.DataFrame({f"x{i}": rng.normal(0, 1, 500) for i in range(30)})
    return ref, cur


def test_reports_round_trip_and_carry_no_null_model() -> None:
    ref, cur = _frames()
    report = DataContract("fw", ref).validate(cur)
    assert all(r.noise_model is None for r in report.results)
    assert ValidationReport.from_json(report.to_json()) == report
    judged = [r for r in report.results if "p_value" in r.details]
    assert judged and {r.details["family_tests"] for r in judged} == {len(judged)}


def test_family_wise_verdicts_are_never_worse_than_per_check_ones() -> None:
    ref, cur = _frames(3)
    per_check = DataContract("fw", ref, family_wise=False).validate(cur)
    family = DataContract("fw", ref).validate(cur)
    by_key = {(r.check, r.column, r.details.get("special_value")): r.status for r in per_check.results}
    for r in family.results:
        assert r.status <= by_key[(r.check, r.column, r.details.get("special_value"))]


def test_setting_is_saved_and_old_files_load_with_the_default(tmp_path: Path) -> None:
    ref, _ = _frames()
    default = DataContract("fw", ref)
    path = default.save(tmp_path)
    assert "family_wise" not in json.loads(path.read_text())  # the default is not written: old hashes hold
    assert DataContract.load(tmp_path, "fw").family_wise is True

    default.family_wise = False
    assert default.version is None  # a changed setting is an unsaved version
    second = default.save(tmp_path)
    assert second.stem == "v2" and json.loads(second.read_text())["family_wise"] is False
    loaded = DataContract.load(tmp_path, "fw")
    assert loaded.family_wise is False and loaded.save(tmp_path) == second
    loaded.family_wise = True
    assert loaded.save(tmp_path).stem == "v3"  # switching back is a change too
    change = DataContract.load(tmp_path, "fw", version=3).diff(DataContract.load(tmp_path, "fw", version=2))
    assert [(c.check, c.setting, c.before, c.after) for c in change.checks] == [
        ("contract", "family_wise", False, True)]


def test_spec_sets_the_setting_and_to_spec_writes_it() -> None:
    ref, _ = _frames()
    contract = DataContract.from_spec(ref, {"name": "fw", "family_wise": False})
    assert contract.family_wise is False
    assert contract.to_spec()["family_wise"] is False
    assert "family_wise" not in DataContract.from_spec(ref, {"name": "fw"}).to_spec()
    with pytest.raises(ValueError, match="family_wise"):
        DataContract("fw", ref, family_wise="no")  # type: ignore[arg-type]
