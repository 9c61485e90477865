"""The sidecar's Prometheus registry: no ``*_created`` series; production metrics follow the store."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest

from sidecar import DataContract
from sidecar.demo.data import churn_frame
from sidecar.metrics import MetricsRegistry, SidecarMetrics


def _metrics_with_every_type() -> SidecarMetrics:
    metrics = SidecarMetrics("churn")
    metrics.init_stream("churn.inputs", DataContract("churn_inputs", churn_frame(500, seed=1)))
    metrics.records.labels("churn", "churn.inputs", "ok").inc(3)  # a counter
    metrics.eval_duration.labels("churn").observe(0.2)  # a histogram
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
    metrics = SidecarMetrics("churn")
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
