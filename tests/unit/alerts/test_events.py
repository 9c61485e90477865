"""Alert transitions: fire, change severity, resolve; skipped rows and absent series change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sidecar.alerts.events import EVENT_TYPES, AlertEvent, AlertTracker
from sidecar.report.model import CheckResult, Status, ValidationReport


def _report(*rows: tuple[str, str | None, str, float | None], contract: str = "churn_inputs") -> ValidationReport:
    results = [CheckResult(check=c, column=col, status=s, value=v, warning=0.1, critical=0.2,
                           details={"p_value": 1e-6, "noise_bound": 0.05}) for c, col, s, v in rows]
    return ValidationReport(contract=contract, results=results, window_start=datetime(2026, 1, 1, tzinfo=UTC),
                            window_end=datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
                            row_count={"expected": 100, "actual": 120, "change": 0.2})


def test_fire_escalate_resolve() -> None:
    t = AlertTracker("churn")
    assert t.observe(_report(("distribution", "age", "healthy", 0.01))) == []
    fired = t.observe(_report(("distribution", "age", "warning", 0.15)))
    assert [(e.data.state, e.data.status, e.data.previous_status) for e in fired] == [
        ("firing", Status.WARNING, Status.HEALTHY)]
    e = fired[0]
    assert (e.type, e.subject, e.key) == (EVENT_TYPES["firing"], "churn/churn_inputs/distribution/age",
                                          "churn/churn_inputs/distribution/age")
    assert (e.data.value, e.data.threshold, e.data.rows, e.data.p_value) == (0.15, 0.1, 120, 1e-6)
    escalated = t.observe(_report(("distribution", "age", "critical", 0.3)))
    assert [(x.data.state, x.data.status, x.data.threshold) for x in escalated] == [("firing", Status.CRITICAL, 0.2)]
    assert escalated[0].data.started_at == e.data.started_at  # still the same episode
    assert t.observe(_report(("distribution", "age", "critical", 0.35))) == []  # no change, no event
    resolved = t.observe(_report(("distribution", "age", "healthy", 0.02)))
    assert [(x.data.state, x.data.previous_status, x.type) for x in resolved] == [
        ("resolved", Status.CRITICAL, EVENT_TYPES["resolved"])]
    assert t.firing == {}


def test_table_rows_use_feature_star_and_series_are_per_contract() -> None:
    t = AlertTracker("churn")
    events = t.observe(_report(("row_count", None, "critical", 0.5)))
    assert events[0].subject == "churn/churn_inputs/row_count/*"
    other = t.observe(_report(("row_count", None, "critical", 0.5), contract="churn_outputs"))
    assert [e.subject for e in other] == ["churn/churn_outputs/row_count/*"]


def test_worst_row_of_a_series_decides() -> None:
    # special values: one row per watched value, one series per column
    t = AlertTracker("m")
    events = t.observe(_report(("special_values", "spend", "healthy", 0.0),
                               ("special_values", "spend", "critical", 0.4)))
    assert [(e.data.status, e.data.value) for e in events] == [(Status.CRITICAL, 0.4)]


def test_skipped_rows_and_absent_series_keep_the_state() -> None:
    t = AlertTracker("m")
    t.observe(_report(("distribution", "age", "critical", 0.5)))
    skipped = ValidationReport(contract="churn_inputs", results=[CheckResult(
        check="distribution", column="age", status="healthy", details={"skipped": True, "reason": "column missing"})])
    assert t.observe(skipped) == []  # the schema row speaks for the missing column; no false recovery
    assert t.observe(_report(("schema", "age", "healthy", None))) == []  # a small window judged only the schema
    assert t.firing == {"m/churn_inputs/distribution/age": Status.CRITICAL}


def test_event_is_a_cloudevent_and_round_trips() -> None:
    event = AlertTracker("m").observe(_report(("domain", "plan", "warning", 0.15)))[0]
    doc = json.loads(event.to_json())
    assert doc["specversion"] == "1.0" and doc["datacontenttype"] == "application/json"
    assert {"id", "source", "type", "subject", "time", "data"} <= doc.keys()
    assert doc["source"] == "/model-health-sidecar/m" and doc["data"]["feature"] == "plan"
    assert AlertEvent.model_validate_json(event.to_json()) == event


def test_schema_file_matches_the_model() -> None:
    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[3] / "schemas" / "alert.schema.json").read_text())
    event = AlertTracker("m").observe(_report(("domain", "plan", "critical", 0.5)))[0]
    jsonschema.validate(json.loads(event.to_json()), schema)
