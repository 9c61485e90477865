"""The sidecar's Prometheus registry: no ``*_created`` series; production metrics follow the store; each metric
set carries only its own process's families (the joiner's: tests/unit/join/test_join_metrics.py)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest

from sidecar import DataContract
from sidecar.demo.data import churn_frame
from sidecar.metrics import JoinMetrics, MetricsRegistry, ModelMetrics, SidecarMetrics


def _metrics_with_every_type() -> SidecarMetrics:
    metrics = SidecarMetrics("churn")
    metrics.init_stream("churn.inputs", DataContract("churn_inputs", churn_frame(500, seed=1)))
    metrics.records.labels("churn", "churn.inputs", "ok").inc(3)  # a counter
    metrics.model_level.eval_duration.labels("churn").observe(0.2)  # a histogram
    metrics.kafka_errors.labels("churn", "consume").inc()
    return metrics


def test_exposition_has_no_created_series() -> None:
    metrics = _metrics_with_every_type()
    text = generate_latest(metrics.registry).decode()
    assert "model_health_records_total{" in text and "model_health_window_evaluation_duration_seconds_count{" in text
    assert [line for line in text.splitlines() if "_created" in line] == []
    assert metrics.registry.get_sample_value("model_health_records_created",
                                             {"model": "churn", "topic": "churn.inputs", "result": "ok"}) is None
    assert metrics.registry.get_sample_value("model_health_records_total",
                                             {"model": "churn", "topic": "churn.inputs", "result": "ok"}) == 3


def test_only_this_registry_drops_created_series() -> None:
    # The same counter on a plain registry still has _created: the filter is this registry's, not a
    # process-wide switch (which would also prove the test above can fail).
    plain, ours = CollectorRegistry(), MetricsRegistry()
    for registry in (plain, ours):
        Counter("x_events", "events", registry=registry).inc()
    assert b"x_events_created" in generate_latest(plain)
    assert b"x_events_created" not in generate_latest(ours)
    assert b"x_events_total 1.0" in generate_latest(ours)


def test_production_metrics_follow_what_the_store_holds() -> None:
    metrics = ModelMetrics("churn")
    metrics.set_production({"accuracy": 0.91, "roc_auc": 0.8})
    value = metrics.registry.get_sample_value
    assert value("model_health_production_metric", {"model": "churn", "metric": "accuracy"}) == 0.91
    metrics.set_production({"accuracy": 0.93})
    assert value("model_health_production_metric", {"model": "churn", "metric": "accuracy"}) == 0.93
    assert value("model_health_production_metric", {"model": "churn", "metric": "roc_auc"}) is None


def test_table_level_rows_have_a_non_empty_feature_label() -> None:
    contract = DataContract("churn_inputs", churn_frame(500, seed=1))
    metrics = SidecarMetrics("churn")
    metrics.init_stream("churn.inputs", contract)
    labels = {"model": "churn", "contract": "churn_inputs", "check": "schema", "feature": "*"}
    assert metrics.registry.get_sample_value("model_health_check_status", labels) == 0
    metrics.publish(contract.validate(churn_frame(300, seed=2).drop(columns=["age"])), 0.01)
    # A missing column is a critical schema row on that column; the table row stays at its own feature "*".
    assert metrics.registry.get_sample_value("model_health_check_status", {**labels, "feature": "age"}) == 2
    assert metrics.registry.get_sample_value("model_health_check_status", {**labels, "feature": ""}) is None
    text = generate_latest(metrics.registry).decode()
    assert 'feature=""' not in text


def _families(registry: CollectorRegistry) -> set[str]:
    return {family.name for family in registry.collect()}


def test_stream_and_join_sets_share_only_the_model_level_families() -> None:
    model_level = _families(ModelMetrics("churn").registry)
    stream, join = _families(SidecarMetrics("churn").registry), _families(JoinMetrics("churn").registry)
    assert stream & join == model_level
    assert {"model_health_check_status", "model_health_window_end_timestamp_seconds",
            "model_health_production_metric", "model_health_alert_events"} <= model_level
    assert {"model_health_kafka_up", "model_health_records", "model_health_contract"} <= stream - join
    assert {"model_health_join_events", "model_health_label_coverage", "model_health_estimated_metric"} <= join - stream


def test_stream_publish_sets_verdicts_and_drift_scores() -> None:
    contract = DataContract("churn_inputs", churn_frame(500, seed=1))
    metrics = SidecarMetrics("churn")
    metrics.init_stream("churn.inputs", contract)
    report = contract.validate(churn_frame(400, seed=3))
    metrics.publish(report, 0.01)
    get = metrics.registry.get_sample_value
    drift = next(r for r in report.results if r.check == "distribution" and r.value is not None)
    method = str(drift.details["method"])
    assert get("model_health_feature_drift_score", {"model": "churn", "contract": "churn_inputs",
                                                    "feature": drift.column, "method": method}) == drift.value
    assert get("model_health_window_rows", {"model": "churn", "contract": "churn_inputs"}) == 400
