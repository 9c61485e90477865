"""DataContract.diff: columns, checks and settings that changed, and the drift between two references."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from frames import make_frame

from sidecar import DataContract
from sidecar.contract.diff import ContractDiff, SettingChange


def test_identical_contracts_have_no_changes_and_no_drift(reference: pd.DataFrame) -> None:
    a, b = DataContract("c", reference), DataContract("c", reference)
    d = b.diff(a)
    assert isinstance(d, ContractDiff) and not d.changed and d.columns == () and d.checks == ()
    by_column = {r.column: r for r in d.drift}
    assert by_column["cust_id"].status == "skipped" and by_column["cust_id"].note == "identifier"
    for col in ("age", "tenure", "spend", "plan", "country", "signup"):
        assert by_column[col].distance == pytest.approx(0.0, abs=1e-12) and by_column[col].status == "healthy"
    assert "no column added, removed or retyped" in str(d) and "no check or setting changed" in str(d)


def test_columns_added_removed_and_retyped(reference: pd.DataFrame) -> None:
    old = DataContract("c", reference)
    new_df = reference.drop(columns=["active"]).assign(age=reference["age"].astype(float), extra=1.5)
    d = DataContract("c", new_df).diff(old)
    (removed,) = [c for c in d.columns if c.column == "active"]
    assert removed.change == "removed" and removed.after is None and "bool" in (removed.before or "")
    assert [c.change for c in d.columns if c.column == "extra"] == ["added"]
    (retyped,) = [c for c in d.columns if c.change == "retyped"]
    assert retyped.column == "age" and "int64" in (retyped.before or "") and "float64" in (retyped.after or "")
    assert d.changed


def test_checks_and_settings_changed(reference: pd.DataFrame) -> None:
    old = DataContract("c", reference)
    new = DataContract("c", reference)
    new.distribution_test.configure(["tenure"], threshold=0.3, method="ks")
    new.uniqueness_test.configure(["cust_id"])
    new.domain_test.disable(["plan"])
    new.special_value_test.configure(["spend"], thresholds={np.nan: 0.2, -1: 0.3})
    new.row_count_test.configure(expected=100)
    changes = {(c.check, c.column, c.change, c.setting): (c.before, c.after) for c in new.diff(old).checks}
    assert changes[("distribution", "tenure", "changed", "method")] == ("psi", "ks")
    assert changes[("distribution", "tenure", "changed", "critical")] == (0.2, 0.3)
    assert changes[("uniqueness", "cust_id", "added", None)][0] is None
    assert changes[("domain", "plan", "removed", None)][1] is None
    assert changes[("special_values", "spend", "changed", "rules[missing].critical")] == (0.1, 0.2)
    assert changes[("special_values", "spend", "changed", "rules[-1].critical")] == (None, 0.3)
    assert changes[("row_count", None, "changed", "expected")] == (None, 100)
    text = str(new.diff(old))
    assert "rules[missing].critical" in text and "uniqueness" in text


def test_reference_drift_is_judged_by_the_old_contract(reference: pd.DataFrame) -> None:
    old = DataContract("c", reference)
    shifted = reference.assign(tenure=reference["tenure"] + 8)  # one standard deviation
    d = DataContract("c", shifted).diff(old)
    row = {r.column: r for r in d.drift}["tenure"]
    assert row.status == "critical" and row.method == "psi" and row.distance is not None and row.distance > 0.5
    assert row.critical == 0.2 and row.noise_bound is not None and row.noise_bound < row.distance
    assert {r.column: r.status for r in d.drift}["age"] == "healthy"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rebinned_distance_is_close_to_validating_the_rows(reference: pd.DataFrame, seed: int) -> None:
    """Same population, different edges: the interpolated distance stays near the exact one and healthy."""
    old = DataContract("c", reference)
    sample = make_frame(5000, seed=seed)
    exact = {r.column: r.value for r in old.validate(sample).results if r.check == "distribution"}
    drift = {r.column: r for r in DataContract("c", sample).diff(old).drift if r.status != "skipped"}
    for col, row in drift.items():
        assert row.status == "healthy", (col, row)
        assert row.distance == pytest.approx(exact[col], abs=0.01), col


def test_result_is_frozen_and_json_able(reference: pd.DataFrame) -> None:
    old = DataContract("c", reference)
    new = DataContract("c", reference)
    new.min_max_test.configure(["age"], lower_bound=0, upper_bound=120)
    d = new.diff(old)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.columns = ()  # type: ignore[misc]
    data = json.loads(d.to_json())
    assert data == d.to_dict()
    assert data["before"]["reference_rows"] == 5000 and data["after"]["version"] is None
    assert {"check": "min_max", "column": "age", "change": "changed", "setting": "upper_bound",
            "before": 89.0, "after": 120.0} in data["checks"]
    assert SettingChange("min_max", "age", "changed", "lower_bound", 18.0, 0.0) in d.checks
