"""The semantics the issue and DESIGN.md fix, one test each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from custom_fns import max_moved, total_variation

from sidecar import DataContract, Status
from sidecar.checks.base import CHECKS


def _rows(report, check, column=None):
    return [r for r in report.results if r.check == check and (column is None or r.column == column)]


def test_reference_against_itself_is_all_healthy(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.distribution_test.configure(["tenure", "plan"], threshold=0.2, method="psi")
    c.distribution_test.configure(["spend"], threshold=0.1, method="l-infinity")
    c.distribution_test.configure(["age"], method="ks")
    c.distribution_test.configure(["signup"], method="wasserstein")
    c.distribution_test.configure(["country"], method="jensen-shannon")
    c.special_value_test.configure(["spend"], thresholds={np.nan: 0.1, -1: 0.2})
    c.min_max_test.configure(["age"], lower_bound=0, upper_bound=120)
    c.domain_test.configure(["country", "plan"])
    c.uniqueness_test.configure(["cust_id"])
    report = c.validate(reference)
    assert report.status is Status.HEALTHY
    assert all(r.status is Status.HEALTHY for r in report.results)
    assert {r.check for r in report.results} == set(CHECKS) - {"custom"}
    for r in _rows(report, "distribution"):
        assert r.value == 0.0
    assert report.row_count["change"] == 0.0


def test_every_column_gets_a_row_per_default_check(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    report = DataContract("churn", reference).validate(current)
    for check in ("schema", "special_values"):
        assert {r.column for r in _rows(report, check)} == set(reference.columns)
    # cust_id is an identifier (all-unique integers): no distribution, range or domain check.
    assert {r.column for r in _rows(report, "distribution")} == set(reference.columns) - {"cust_id"}
    assert {r.column for r in _rows(report, "min_max")} == {"age", "tenure", "spend"}
    assert {r.column for r in _rows(report, "domain")} == {"plan", "country", "active"}
    assert report.summary["distribution"]["healthy"] == len(reference.columns) - 1
    assert report.status is Status.HEALTHY


@pytest.mark.parametrize(
    ("mutate", "column", "status", "reason"),
    [
        (lambda d: d.rename(columns={"tenure": "tenure_months"}), "tenure", Status.CRITICAL, "renamed"),
        (lambda d: d.drop(columns=["plan"]), "plan", Status.CRITICAL, "missing"),
        (lambda d: d.assign(extra=1.0), "extra", Status.WARNING, "not in the contract"),
        (lambda d: d.assign(age=d["age"].astype("float64")), "age", Status.WARNING, "dtype changed"),
        (lambda d: d.assign(age=d["age"].astype(str)), "age", Status.CRITICAL, "type changed"),
    ],
)
def test_schema_changes_are_rows_not_exceptions(reference, current, mutate, column, status, reason) -> None:
    report = DataContract("churn", reference).validate(mutate(current))
    row = _rows(report, "schema", column)
    assert len(row) == 1 and row[0].status is status and reason in row[0].details["reason"]
    assert _rows(report, "distribution")  # the rest of the report is still produced


def test_reordered_columns(reference: pd.DataFrame) -> None:
    report = DataContract("churn", reference).validate(reference[list(reversed(reference.columns))])
    table = [r for r in _rows(report, "schema") if r.column is None]
    assert table[0].status is Status.WARNING and "reordered" in table[0].details["reason"]
    assert all(r.status is Status.HEALTHY for r in _rows(report, "distribution"))


def test_empty_frame_gives_a_report(reference: pd.DataFrame) -> None:
    report = DataContract("churn", reference).validate(reference.iloc[:0])
    (rc,) = _rows(report, "row_count")
    assert rc.status is Status.CRITICAL and rc.value == 1.0
    assert report.row_count["actual"] == 0 and report.row_count["change"] == -1.0


def test_all_null_column_gives_a_report(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    bad = current.assign(tenure=np.nan, plan=pd.Series([None] * len(current), dtype=object))
    report = DataContract("churn", reference).validate(bad)
    for col in ("tenure", "plan"):
        assert _rows(report, "special_values", col)[0].status is Status.CRITICAL
        assert _rows(report, "distribution", col)[0].status is Status.CRITICAL


def test_half_null_moves_l_infinity_by_half(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.distribution_test.configure(["tenure"], method="l-infinity")
    cur = reference.copy()
    cur.loc[cur.index[: len(cur) // 2], "tenure"] = np.nan
    (row,) = _rows(c.validate(cur), "distribution", "tenure")
    assert row.value == pytest.approx(0.5, abs=0.01)
    assert row.status is Status.CRITICAL


@pytest.mark.parametrize("method", ["l-infinity", "psi", "jensen-shannon"])
def test_unseen_and_vanished_categories_move_the_distance(reference: pd.DataFrame, method: str) -> None:
    c = DataContract("churn", reference)
    c.distribution_test.configure(["plan"], method=method)
    unseen = reference.assign(plan=reference["plan"].replace("basic", "enterprise"))
    vanished = reference[reference["plan"] != "pro"]
    assert _rows(c.validate(unseen), "distribution", "plan")[0].value > 0.1
    assert _rows(c.validate(vanished), "distribution", "plan")[0].value > 0.1


def test_one_and_string_one_differ_for_domain_and_distribution() -> None:
    ref = pd.DataFrame({"code": pd.Series(["1", "2", "1", "2"] * 50, dtype=object)})
    c = DataContract("codes", ref)
    c.domain_test.configure(["code"])
    cur = pd.DataFrame({"code": pd.Series([1, 2, 1, 2] * 50, dtype=object)})
    report = c.validate(cur)
    assert _rows(report, "domain", "code")[0].status is Status.CRITICAL
    assert _rows(report, "distribution", "code")[0].value == 1.0


def test_psi_is_finite_on_disjoint_data(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.distribution_test.configure(["tenure"], method="psi")
    cur = reference.assign(tenure=reference["tenure"] + 1000)
    (row,) = _rows(c.validate(cur), "distribution", "tenure")
    assert row.value is not None and np.isfinite(row.value) and row.status is Status.CRITICAL


def test_l_infinity_spellings(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.distribution_test.configure(["tenure"], method="l_infinity")
    c.distribution_test.configure(["age"], method="l-infinity")
    assert c.distribution_test.settings["tenure"].method == c.distribution_test.settings["age"].method


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.distribution_test.configure(["tenure"], method="euclid"), "euclid"),
        (lambda c: c.distribution_test.configure(["nope"]), "nope"),
        (lambda c: c.distribution_test.configure(["plan"], method="ks"), "plan"),
        (lambda c: c.distribution_test.configure(["tenure"], threshold=-1), "tenure"),
        (lambda c: c.distribution_test.configure(["tenure"], warning=0.5, critical=0.1), "above critical"),
        (lambda c: c.min_max_test.configure(["plan"]), "plan"),
        (lambda c: c.min_max_test.configure(["age"], lower_bound=10, upper_bound=5), "age"),
        (lambda c: c.domain_test.configure(["tenure"]), "tenure"),
        (lambda c: c.special_value_test.configure(["age"], thresholds={"x": 0.1}), "age"),
        (lambda c: c.custom_test.configure("bad", "no_such_module_xyz:f", columns=["age"]), "no_such_module_xyz"),
    ],
)
def test_configuration_errors_raise_value_error_at_configure(reference, call, match) -> None:
    c = DataContract("churn", reference)
    with pytest.raises(ValueError, match=match):
        call(c)


def test_threshold_alone_sets_critical(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.distribution_test.configure(["tenure"], threshold=0.3, method="psi")
    s = c.distribution_test.settings["tenure"]
    assert (s.warning, s.critical) == (0.05, 0.3)
    c.distribution_test.configure(["tenure"], threshold=0.02, method="psi")
    s = c.distribution_test.settings["tenure"]
    assert (s.warning, s.critical) == (0.02, 0.02)


def test_value_strictly_above_threshold_crosses(reference: pd.DataFrame) -> None:
    from sidecar.checks.base import judge

    assert judge(0.2, 0.1, 0.2) is Status.WARNING
    assert judge(0.2000001, 0.1, 0.2) is Status.CRITICAL
    assert judge(0.1, 0.1, 0.2) is Status.HEALTHY


def test_special_values_rate_change(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.special_value_test.configure(["spend"], thresholds={np.nan: 0.1, -1: 0.2})
    cur = reference.copy()
    cur.loc[cur.index[: len(cur) // 4], "spend"] = -1
    rows = {r.details["special_value"]: r for r in _rows(c.validate(cur), "special_values", "spend")}
    assert rows[-1].status is Status.CRITICAL and rows[-1].value == pytest.approx(0.25, abs=0.03)
    assert rows["missing"].status is Status.HEALTHY


def test_min_max_share_out_of_bounds(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.min_max_test.configure(["age"], lower_bound=0, upper_bound=120)
    cur = reference.copy()
    cur.loc[cur.index[:20], "age"] = 150
    (row,) = _rows(c.validate(cur), "min_max", "age")
    assert row.value == pytest.approx(20 / len(cur)) and row.status is Status.WARNING
    assert row.details["above"] == 20 and row.details["current_max"] == 150


def test_uniqueness_exact_in_batch(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.uniqueness_test.configure(["cust_id"])
    cur = pd.concat([reference, reference.iloc[:100]])
    (row,) = _rows(c.validate(cur), "uniqueness", "cust_id")
    assert row.details["duplicates"] == 100 and row.details["exact"] is True
    assert row.status is Status.CRITICAL


def test_domain_lists_unseen_examples(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.domain_test.configure(["country"])
    cur = reference.assign(country=reference["country"].astype(str).replace("UK", "GB"))
    (row,) = _rows(c.validate(cur), "domain", "country")
    assert row.status is Status.CRITICAL
    assert row.details["unseen_examples"] == ["GB"] and row.details["vanished_examples"] == ["UK"]


def test_custom_checks(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.custom_test.configure("spend_not_negative", "custom_fns:spend_ok", columns=["spend"])
    c.custom_test.configure("max_moved", max_moved, columns=["spend", "tenure"], threshold=5.0)
    ok = c.validate(reference)
    assert [r.status for r in _rows(ok, "custom")] == [Status.HEALTHY] * 3
    bad = c.validate(reference.assign(spend=reference["spend"] - 1000))
    assert {r.details["name"]: r.status for r in _rows(bad, "custom", "spend")} == {
        "spend_not_negative": Status.CRITICAL, "max_moved": Status.CRITICAL}


def test_callable_distance(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.distribution_test.configure(["age"], threshold=0.05, method=total_variation)
    (row,) = _rows(c.validate(reference), "distribution", "age")
    assert row.value == 0.0 and row.details["method"].endswith(":total_variation")


def test_failing_custom_check_is_a_row(reference: pd.DataFrame) -> None:
    def boom(reference, current):
        raise RuntimeError("kaput")

    c = DataContract("churn", reference)
    c.custom_test.configure("boom", boom, columns=["age"])
    (row,) = _rows(c.validate(reference), "custom", "age")
    assert row.status is Status.CRITICAL and "kaput" in row.details["reason"]


def test_boolean_column_with_blanks_is_still_boolean() -> None:
    ref = pd.DataFrame({"ok": [True, False] * 50})
    cur = pd.DataFrame({"ok": pd.Series([True, False, None] * 33, dtype=object)})
    report = DataContract("b", ref).validate(cur)
    assert _rows(report, "schema", "ok")[0].status is not Status.CRITICAL
    assert _rows(report, "special_values", "ok")[0].value == pytest.approx(1 / 3)


def test_bad_bin_count_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="n_bins"):
        DataContract("x", pd.DataFrame({"a": np.arange(100.0)}), n_bins=0)


def test_healthy_rows_follow_the_documented_check_order(reference: pd.DataFrame) -> None:
    from sidecar.report.model import CHECK_NAMES

    c = DataContract("churn", reference)
    c.uniqueness_test.configure(["cust_id"])
    c.min_max_test.configure(["age"])
    order = list(dict.fromkeys(r.check for r in c.validate(reference).results))
    assert order == [n for n in CHECK_NAMES if n in order]


def test_one_argument_custom_check_reads_the_batch_column(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.custom_test.configure("no_negative_spend", "custom_fns:no_negative_spend", columns=["spend"])
    assert _rows(c.validate(reference), "custom", "spend")[0].status is Status.HEALTHY
    bad = reference.assign(spend=reference["spend"] - 1000)
    assert _rows(c.validate(bad), "custom", "spend")[0].status is Status.CRITICAL


def test_datetime_bins_are_labelled_with_dates() -> None:
    from sidecar.checks.distribution import bin_labels
    ref = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=400, freq="D")})
    labels = bin_labels(DataContract("d", ref).reference.columns["t"])
    assert labels[0] == "< 2024-01-01" and labels[1].startswith("[2024-01-01, 2024-01-2") and labels[-1] == "missing"
