"""The joiner's ``/metrics`` carries only series the joiner writes (never the stream's ``kafka_up 0``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client import Counter, Gauge, Histogram, Info
from prometheus_client.parser import text_string_to_metric_families

from sidecar.config import Settings
from sidecar.join.app import JoinApp, create_join_app
from sidecar.join.joiner import Half
from sidecar.metrics import SidecarMetrics

#: Every family the joiner's metric set defines, each one written by the joiner (see the last test).
JOINER_FAMILIES = {
    # model-level, shared with `sidecar run`: SLA verdicts, realized metrics and their SLA bounds, alerts, store
    "model_health_check_status", "model_health_check_value", "model_health_check_threshold",
    "model_health_window_rows", "model_health_window_end_timestamp_seconds",
    "model_health_window_evaluation_duration_seconds", "model_health_production_metric",
    "model_health_production_metric_sla", "model_health_alert_events", "model_health_store_errors",
    "model_health_published_events",
    # the join's own
    "model_health_estimated_metric", "model_health_estimated_metric_bound", "model_health_label_coverage",
    "model_health_label_delay_seconds", "model_health_join_events", "model_health_join_pending",
}
#: Series of configuration, set once at start-up by design (the `sla:` lower bounds).
CONFIGURATION = {"model_health_production_metric_sla"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def joiner(tmp_path: Path, clock: Clock) -> JoinApp:
    """A joiner as deployed: SLA bounds, a CBPE reference, an alert topic (its notifier is not started)."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 2000)
    pd.DataFrame({"score": np.clip(0.6 * labels + 0.4 * rng.random(2000), 0, 1), "label": labels}).to_csv(
        tmp_path / "reference.csv", index=False)
    settings = Settings(model="churn", store={"path": str(tmp_path / "store")},
                        alerts={"topic": "model-health.alerts"},
                        sla={"accuracy": {"warning": 0.8, "critical": 0.7}},
                        join={"http": {"port": 0}, "data_dir": str(tmp_path / "faust"), "min_pairs": 10,
                              "ttl_seconds": 120.0, "window_seconds": 60.0,
                              "reference": str(tmp_path / "reference.csv")})
    app = create_join_app(settings, clock=clock)
    app.faust.finalize()
    return app


def traffic(app: JoinApp, clock: Clock, minutes: int) -> Iterator[bytes]:
    """Each minute: 100 predictions, their outcomes 2 s later (one never comes, one is delivered twice), a
    sweep; yields the ``/metrics`` body after each."""
    rng = np.random.default_rng(11)
    for minute in range(minutes):
        start = 60.0 * minute
        labels = rng.integers(0, 2, 100)
        scores = np.clip(0.6 * labels + 0.4 * rng.random(100), 0, 1)
        ids = [f"{minute}-{i}".encode() for i in range(100)]
        app.joiner.predictions([Half(ids[i], start + 0.5 * i, float(scores[i])) for i in range(100)], 0)
        outcomes = [Half(ids[i], start + 0.5 * i + 2, float(labels[i])) for i in range(1, 100)]
        app.joiner.outcomes([*outcomes, outcomes[0]], 0)
        clock.now = start + 60.0
        app.sweep()
        yield app.exposition()


def families(body: bytes) -> dict[str, list[Any]]:
    """Family name -> samples of one exposition."""
    return {f.name: f.samples for f in text_string_to_metric_families(body.decode())}


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Callable[[], set[str]]:
    """Start recording the families whose series get set, incremented or observed; returns the reader."""
    written: set[str] = set()

    def recording(cls: type, method: str) -> None:
        original = getattr(cls, method)

        def record(self: Any, *args: Any, **kwargs: Any) -> Any:
            written.add(self._name)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, record)

    def start() -> set[str]:
        for cls, methods in ((Gauge, ("set", "inc", "dec")), (Counter, ("inc",)), (Histogram, ("observe",)),
                             (Info, ("info",))):
            for method in methods:
                recording(cls, method)
        return written

    return start


def test_the_joiner_defines_only_its_own_families(tmp_path: Path) -> None:
    app = joiner(tmp_path, Clock())
    defined = {f.name for f in app.metrics.registry.collect()}
    assert defined == JOINER_FAMILIES
    stream_only = {f.name for f in SidecarMetrics("churn").registry.collect()} - JOINER_FAMILIES
    assert {"model_health_kafka_up", "model_health_records", "model_health_open_windows", "model_health_contract",
            "model_health_feature_drift_score", "model_health_ingest_worker_restarts"} <= stream_only


def test_metrics_after_start_up_and_traffic_hold_no_stream_series(tmp_path: Path) -> None:
    clock = Clock()
    app = joiner(tmp_path, clock)
    for body in (app.exposition(), *traffic(app, clock, 3)):
        text = body.decode()
        for name in ("model_health_kafka_up", "model_health_records_total", "model_health_open_windows",
                     "model_health_contract_info", "model_health_kafka_errors_total",
                     "model_health_ingest_worker_restarts_total", "model_health_dead_letter_failures_total"):
            assert name not in text
        assert set(families(body)) <= JOINER_FAMILIES


def test_every_exported_gauge_is_written_by_the_joiner(tmp_path: Path, writes: Callable[[], set[str]]) -> None:
    # A gauge exported at a start-up value that nothing updates is the bug this guards against: the stream's
    # `model_health_kafka_up 0` on the joiner's /metrics, paging ModelHealthKafkaDown for every joiner. Counters
    # and histograms may rest at their start-up zeros (that is what a count of nothing is); gauges and infos
    # must be written while the joiner runs, unless they are configuration.
    clock = Clock()
    app = joiner(tmp_path, clock)
    written = writes()
    *_, body = traffic(app, clock, 3)
    exported = {name: samples for name, samples in families(body).items() if samples}
    gauges = {f.name for f in app.metrics.registry.collect() if f.type in ("gauge", "info")}
    assert {"model_health_check_status", "model_health_label_coverage", "model_health_estimated_metric",
            "model_health_window_end_timestamp_seconds", "model_health_join_pending"} <= exported.keys()
    assert (exported.keys() & gauges) - CONFIGURATION <= written
    # The run is one the joiner updates for real: pairs joined, outcomes delivered twice, a prediction expired.
    events = {s.labels["event"]: s.value for s in exported["model_health_join_events"]}
    assert (events["joined"], events["duplicate_outcome"], events["expired"]) == (297, 3, 1)
