"""Query parameters and what the database can hold: strict, named refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from sidecar.report.event import ReportEvent
from sidecar.report.model import CheckResult, ValidationReport
from sidecar.serve.api.params import MetricParams, ReportListParams, SeriesParams
from sidecar.serve.storable import metric_problem, report_problem
from sidecar.store.base import MetricEvent


@pytest.mark.parametrize("text", ["2026-01-01T01:00:00+01:00", "2026-01-01T01:00:00 01:00", "2026-01-01T00:00:00Z",
                                  "2026-01-01T00:00:00"])
def test_query_times_are_utc_and_forgive_an_unencoded_plus(text: str) -> None:
    assert ReportListParams.model_validate({"since": text}).since == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_time_that_cannot_be_utc_is_refused() -> None:
    with pytest.raises(ValidationError, match="out of range once converted to UTC"):
        ReportListParams.model_validate({"until": "0001-01-01T00:00:00+01:00"})


@pytest.mark.parametrize(("data", "field"), [
    ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"status": "bad"}, "status"),
    ({"source": "pod"}, "source"), ({"modle": "x"}, "modle"), ({"model": ""}, "model"),
    ({"model": "a\x00b"}, "model"), ({"cursor": "x" * 513}, "cursor"),
])
def test_listing_params_refuse_by_name(data: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ReportListParams.model_validate(data)
    assert info.value.errors()[0]["loc"] == (field,)


def test_listing_defaults_and_query() -> None:
    p = ReportListParams.model_validate({"model": "m'; DROP TABLE reports;--", "status": "critical"})
    q = p.query()
    assert (p.limit, p.cursor, q.model, q.status) == (50, None, "m'; DROP TABLE reports;--", "critical")


def test_series_and_metrics_need_their_names() -> None:
    with pytest.raises(ValidationError) as info:
        SeriesParams.model_validate({"model": "m", "contract": "c"})
    assert [e["loc"] for e in info.value.errors()] == [("check",)]
    assert SeriesParams.model_validate({"model": "m", "contract": "c", "check": "schema"}).column is None
    assert MetricParams.model_validate({"model": "m", "kind": "estimated"}).kind == "estimated"
    with pytest.raises(ValidationError):
        MetricParams.model_validate({"model": "m", "kind": "guessed"})


def _event(**report: object) -> ReportEvent:
    return ReportEvent(model="churn", report=ValidationReport(contract="c", **report))  # type: ignore[arg-type]


@pytest.mark.parametrize(("event", "field"), [
    (_event(contract_version=2**31), "report.contract_version"),
    (_event(row_count={"expected": 2**63, "actual": 0, "change": None}), "report.row_count.expected"),
    (_event(created_at=datetime.fromisoformat("0001-01-01T00:00:00+05:00")), "report.created_at"),
    (_event(results=[CheckResult(check="schema", column="a\x00", status="healthy")]), "report.results.0.column"),
    (_event(results=[CheckResult(check="c" * 201, column=None, status="healthy")]), "report.results.0.check"),
    (ReportEvent(model="m\x00", report=ValidationReport(contract="c")), "model"),
    (ReportEvent(model="m", pod="p\x00", report=ValidationReport(contract="c")), "pod"),
])
def test_what_no_table_holds_is_named(event: ReportEvent, field: str) -> None:
    problem = report_problem(event)
    assert problem is not None and problem[0] == field


def test_a_storable_report_has_no_problem() -> None:
    assert report_problem(_event(contract_version=3, results=[
        CheckResult(check="schema", column="<script>alert(1)</script>", status="critical")])) is None


def test_metric_events_are_checked_too() -> None:
    ok = MetricEvent(model="m", metric="acc", points=[{"time": "2026-01-01T00:00:00Z", "value": 1.0}])
    assert metric_problem(ok) is None
    bad = MetricEvent(model="m", metric="acc\x00", points=[{"time": "2026-01-01T00:00:00Z", "value": 1.0}])
    assert metric_problem(bad) == ("metric", "must not contain a NUL character")
    edge = MetricEvent(model="m", metric="acc", points=[{"time": "9999-12-31T23:59:59-05:00", "value": 1.0}])
    assert metric_problem(edge) == ("points.0.time", "is out of range once converted to UTC")
