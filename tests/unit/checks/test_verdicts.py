"""Verdicts a person can trust: one finding per root cause, severity order, information-only row counts,
identifiers, rare values, false-alarm settings, small and empty references."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sidecar import DataContract, Status
from sidecar.checks.base import order_findings
from sidecar.report.model import CheckResult
from sidecar.stats.hashing import column_key, value_hash


def _rows(report, check, column=None):
    return [r for r in report.results if r.check == check and (column is None or r.column == column)]


def test_status_is_ordered_by_severity() -> None:
    assert Status.CRITICAL > Status.WARNING > Status.HEALTHY
    assert Status.CRITICAL >= Status.WARNING and not Status.WARNING >= Status.CRITICAL
    assert max([Status.WARNING, Status.CRITICAL, Status.HEALTHY]) is Status.CRITICAL
    assert sorted([Status.CRITICAL, Status.HEALTHY, Status.WARNING]) == [Status.HEALTHY, Status.WARNING,
                                                                         Status.CRITICAL]
    assert Status.WARNING > "healthy" and Status.CRITICAL == "critical"  # still a str enum
    with pytest.raises(TypeError):
        _ = Status.WARNING < 3


def test_a_missing_column_is_one_finding(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    report = DataContract("churn", reference).validate(current.drop(columns=["tenure"]))
    findings = [r for r in report.results if r.column == "tenure" and r.status is not Status.HEALTHY]
    assert [(r.check, r.status) for r in findings] == [("schema", Status.CRITICAL)]
    others = [r for r in report.results if r.column == "tenure" and r.check != "schema"]
    assert {r.check for r in others} >= {"special_values", "distribution", "min_max"}
    for r in others:
        assert r.details["skipped"] is True and r.details["reason"] == "column missing from the data"


def test_a_retyped_column_is_one_finding(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    report = DataContract("churn", reference).validate(current.assign(age=current["age"].astype(str)))
    findings = [r for r in report.results if r.column == "age" and r.status is not Status.HEALTHY]
    assert [(r.check, r.status) for r in findings] == [("schema", Status.CRITICAL)]


def test_without_a_schema_check_the_skipped_rows_are_the_finding(reference: pd.DataFrame) -> None:
    contract = DataContract("churn", reference)
    contract.schema_test.disable()
    report = contract.validate(reference.drop(columns=["plan"]))
    assert {r.check for r in report.results if r.column == "plan" and r.status is Status.CRITICAL} >= {
        "distribution", "special_values", "domain"}


def test_findings_are_worst_first_then_furthest_past_the_threshold() -> None:
    def row(check: str, column: str, status: str, value: float, critical: float) -> CheckResult:
        return CheckResult(check=check, column=column, status=status, value=value, warning=critical / 2,
                           critical=critical)

    rows = [row("distribution", "a", "critical", 0.26, 0.25), row("distribution", "b", "warning", 0.2, 0.25),
            row("distribution", "c", "critical", 15.0, 0.25), row("special_values", "d", "healthy", 0.0, 0.1),
            row("min_max", "e", "critical", 0.5, 0.01)]
    assert [r.column for r in order_findings(rows)] == ["c", "e", "a", "b", "d"]  # 60x, 50x, 1.04x


def test_report_puts_the_biggest_finding_first(reference: pd.DataFrame) -> None:
    current = reference.assign(tenure=reference["tenure"] + 1000.0, spend=reference["spend"] * 1.2)
    report = DataContract("churn", reference).validate(current)
    first = report.results[0]
    assert first.status is Status.CRITICAL and first.column == "tenure"
    assert list(report.summary)[:2] == ["schema", "row_count"]  # the summary keeps the documented order


def test_row_count_is_information_unless_expected_is_set(reference: pd.DataFrame) -> None:
    big = pd.concat([reference, reference]).reset_index(drop=True)  # 10,000-row reference
    contract = DataContract("churn", big)
    report = contract.validate(reference.iloc[:1000])
    (rc,) = _rows(report, "row_count")
    assert rc.status is Status.HEALTHY and rc.warning is None and rc.critical is None and rc.value is None
    assert rc.details["configured"] is False and report.row_count["change"] == pytest.approx(-0.9)
    contract.row_count_test.configure(expected=1000)
    (rc,) = _rows(contract.validate(reference.iloc[:1000]), "row_count")
    assert rc.status is Status.HEALTHY and rc.value == 0.0 and rc.critical == 0.9
    (rc,) = _rows(contract.validate(reference.iloc[:50]), "row_count")
    assert rc.status is Status.CRITICAL and rc.value == pytest.approx(0.95)
    with pytest.raises(ValueError, match="expected"):
        contract.row_count_test.configure(threshold=0.5)


def test_identifiers_are_not_judged_as_drift() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"customer_id": np.arange(5000), "email": [f"u{i}@x.org" for i in range(5000)],
                        "x": rng.normal(size=5000)})
    cur = pd.DataFrame({"customer_id": np.arange(100_000, 102_000),  # new ids: not drift
                        "email": [f"v{i}@x.org" for i in range(2000)], "x": rng.normal(size=2000)})
    contract = DataContract("ids", ref)
    report = contract.validate(cur)
    assert report.status is Status.HEALTHY, [r for r in report.results if r.status is not Status.HEALTHY]
    assert not _rows(report, "distribution", "customer_id") and not _rows(report, "min_max", "customer_id")
    assert not _rows(report, "domain", "email")
    with pytest.raises(ValueError, match="identifier"):
        contract.distribution_test.configure(["customer_id"])
    forced = DataContract("ids", ref, identifiers=[])  # detection off: the ids get the checks
    assert _rows(forced.validate(cur), "distribution", "customer_id")


def test_saved_contract_holds_no_rare_raw_value(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    cities = np.array(["berlin", "paris", "madrid"] + [f"village{i}" for i in range(30)], dtype=object)
    p = np.r_[[0.3, 0.3, 0.3], np.full(30, 0.1 / 30)]
    ref = pd.DataFrame({"city": rng.choice(cities, 2000, p=p), "email": [f"u{i}@x.org" for i in range(2000)]})
    contract = DataContract("people", ref)
    text = contract.save(tmp_path).read_text()
    counts = ref["city"].value_counts()
    for value, count in counts.items():
        assert (f'"{value}"' in text) == (count >= 5), (value, count)
    assert "u0@x.org" not in text and "u1999@x.org" not in text
    # A rare reference value is still known to the domain check (by hash), before and after saving.
    cur = pd.DataFrame({"city": [counts.index[-1]] * 10 + ["berlin"] * 990, "email": ["a@b"] * 1000})
    for c in (contract, DataContract.load(tmp_path, "people")):
        (row,) = _rows(c.validate(cur), "domain", "city")
        assert row.value == 0.0 and row.status is Status.HEALTHY
        report = c.validate(cur.assign(city=["atlantis"] * 40 + ["berlin"] * 960))
        (row,) = _rows(report, "domain", "city")
        # The reference keeps its rare values hashed, so the report lists the new value by the same keyed hash.
        prof = c.reference.columns["city"]
        assert row.status is Status.CRITICAL and row.details["unseen_examples_hashed"] is True
        assert row.details["unseen_examples"] == [value_hash(column_key("city", prof.hll.registers), "atlantis")]
        assert "atlantis" not in report.to_json()
    assert json.loads(text)["reference"]["columns"][0]["domain_hashes"]


def test_false_alarm_levels_are_settings(reference: pd.DataFrame) -> None:
    contract = DataContract("churn", reference)
    contract.distribution_test.configure(["tenure"], false_alarm_warning=0.05, false_alarm_critical=1e-4)
    s = contract.distribution_test.settings["tenure"]
    assert (s.false_alarm_warning, s.false_alarm_critical) == (0.05, 1e-4)
    (row,) = _rows(contract.validate(reference), "distribution", "tenure")
    assert row.details["false_alarm"] == {"warning": 0.05, "critical": 1e-4}
    contract.special_value_test.configure(["spend"], thresholds={np.nan: 0.1}, false_alarm_critical=1e-5)
    assert contract.special_value_test.settings["spend"].rules[0].false_alarm_critical == 1e-5
    for bad in ({"false_alarm_warning": 0.0}, {"false_alarm_critical": 2}, {"false_alarm_warning": 1e-4}):
        with pytest.raises(ValueError, match="false_alarm"):
            contract.distribution_test.configure(["tenure"], **bad)


def test_every_judged_row_carries_its_noise(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    report = DataContract("churn", reference).validate(current)
    for r in report.results:
        if r.check in ("distribution", "special_values", "min_max", "domain"):
            assert math.isfinite(r.details["noise_bound"]) and 0.0 <= r.details["p_value"] <= 1.0, r
            assert r.details["noise_bound_warning"] <= r.details["noise_bound"]


def test_small_reference_warns_and_records_it(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="only 40 rows"):
        contract = DataContract("tiny", pd.DataFrame({"x": np.arange(40.0)}))
    assert contract.warnings and "40 rows" in contract.warnings[0]
    path = contract.save(tmp_path)
    assert "40 rows" in json.loads(path.read_text())["warnings"][0]
    assert DataContract.from_file(path).warnings == contract.warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert DataContract("fine", pd.DataFrame({"x": np.arange(500.0)})).warnings == []


def test_empty_reference_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no rows"):
        DataContract("empty", pd.DataFrame({"x": pd.Series([], dtype=float)}))
    with pytest.raises(ValueError, match="no columns"):
        DataContract("empty", pd.DataFrame(index=range(10)))


def test_a_few_values_past_a_small_references_extremes_are_noise() -> None:
    # The old 1e-4 floor made each value just past the maximum of a small reference add ~0.2 to PSI.
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(size=200)})
    cur = pd.DataFrame({"x": np.r_[rng.normal(size=97), ref["x"].max() + np.array([0.01, 0.02, 0.03])]})
    report = DataContract("small", ref).validate(cur)
    assert report.status is Status.HEALTHY, [r for r in report.results if r.status is not Status.HEALTHY]


def test_a_rename_is_recognised_in_small_samples() -> None:
    # Two halves of a 150-row sample differ by more than a fixed 0.1 L-infinity; the rename allowance
    # includes the sampling noise.
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"petal": rng.gamma(2.0, 1.0, 150), "sepal": rng.normal(5, 1, 150)})
    ref, cur = df.iloc[:75], df.iloc[75:].rename(columns={"petal": "petal_cm"})
    (row,) = _rows(DataContract("iris", ref).validate(cur), "schema", "petal")
    assert row.status is Status.CRITICAL and row.details["renamed_to"] == "petal_cm"
