"""``ValidationReport.to_dataframe``: one row per result, the base columns, simple details flattened."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sidecar import DataContract, Status, ValidationReport
from sidecar.report import BASE_COLUMNS
from sidecar.report.model import CheckResult


def test_one_row_per_result_in_report_order(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    report = DataContract("c", reference).validate(current.assign(tenure=current["tenure"] + 8))
    frame = report.to_dataframe()
    assert len(frame) == len(report.results) > 10
    assert list(frame.columns[: len(BASE_COLUMNS)]) == ["check", "column", "status", "value", "warning", "critical"]
    assert frame["check"].tolist() == [r.check for r in report.results]
    assert frame["column"].tolist() == [r.column for r in report.results]  # None for table-level rows
    assert frame["status"].tolist() == [r.status.value for r in report.results]
    assert frame.loc[0, "status"] == "critical"  # worst first, as in report.results
    for name in ("value", "warning", "critical"):
        assert frame[name].dtype == np.float64
    row = next(i for i, r in enumerate(report.results) if r.check == "distribution" and r.column == "tenure")
    assert math.isclose(frame.loc[row, "value"], report.results[row].value or 0.0)
    assert math.isclose(frame.loc[row, "details.p_value"], report.results[row].details["p_value"])
    assert frame.loc[row, "details.method"] == "psi"


def test_details_flattened_where_simple() -> None:
    report = ValidationReport(contract="c", results=[
        CheckResult(check="distribution", column="a", status=Status.WARNING, value=0.1, warning=0.05, critical=0.2,
                    details={"p_value": 0.001, "method": "psi", "bins": ["x", "y"], "reference": [0.5, 0.5],
                             "false_alarm": {"warning": 0.01, "critical": 0.001}, "flag": True}),
        CheckResult(check="row_count", column=None, status=Status.HEALTHY, details={"reason": "information"}),
    ])
    frame = report.to_dataframe()
    assert list(frame.columns) == [*BASE_COLUMNS, "details.false_alarm.critical", "details.false_alarm.warning",
                                   "details.flag", "details.method", "details.p_value", "details.reason"]
    first, second = frame.to_dict("records")
    assert (first["details.p_value"], first["details.method"], first["details.false_alarm.warning"]) == (
        0.001, "psi", 0.01)
    assert first["details.flag"] is True
    assert second["column"] is None and second["details.reason"] == "information"
    assert math.isnan(second["value"]) and pd.isna(second["details.p_value"])
    # Lists (bins, shares) stay out of the frame; they live in report.results and the JSON.
    assert not any(c.endswith((".bins", ".reference")) for c in frame.columns)


def test_empty_report_has_the_base_columns() -> None:
    frame = ValidationReport(contract="c").to_dataframe()
    assert frame.empty and list(frame.columns) == list(BASE_COLUMNS)
