"""The report's layers: rows from the checks, the data the renderings read, the model that adds them."""

from __future__ import annotations

import sidecar
import sidecar.checks
import sidecar.report
import sidecar.report.model
from sidecar.checks import check_names
from sidecar.report import render_html, render_text, report_frame
from sidecar.report.data import ReportData


def test_status_and_check_result_are_the_checks_own_everywhere() -> None:
    for module in (sidecar, sidecar.report, sidecar.report.model):
        assert module.Status is sidecar.checks.Status
        assert module.CheckResult is sidecar.checks.CheckResult


def test_the_renderings_read_the_data_alone() -> None:
    data = ReportData(contract="c", results=[
        sidecar.checks.CheckResult(check="min_max", column="age", status="warning", value=0.2, warning=0.1)])
    assert render_text(data).startswith("Contract c: WARNING")
    assert report_frame(data)["check"].tolist() == ["min_max"]
    assert 'id="report-status">warning<' in render_html(data)


def test_summary_order_reads_the_registry_and_check_names_stays_importable() -> None:
    rows = [sidecar.checks.CheckResult(check=c, column=None, status="healthy") for c in ("sla", *check_names()[::-1])]
    report = sidecar.report.ValidationReport(contract="c", results=rows)
    assert list(report.summary) == [*check_names(), "sla"]
    assert check_names() == sidecar.report.model.CHECK_NAMES
    assert sidecar.report.ValidationReport.model_json_schema()["title"] == "ValidationReport"
