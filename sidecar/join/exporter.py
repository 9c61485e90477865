"""Where window results go: the joiner's gauges, the store's production-metric series, SLA reports, and the
control room (metric events).

Every evaluated window is written to the store (``<store.path>/production-metrics.sqlite``, the database
``track_production_metrics`` writes and ``get_production_metrics`` reads; re-evaluating a window replaces
its points, keyed by the window's start). The gauges show the newest window with enough joined pairs
(realized metrics, coverage, delay) and the newest window with an estimate. SLA rows of the exported
window become a ValidationReport (``check="sla"``) published on the gauges and to the alert notifier.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from sidecar.config import Settings
from sidecar.join.windows import WindowResult
from sidecar.metrics import JoinMetrics
from sidecar.store.base import MetricEvent, MetricKind, MetricPoint
from sidecar.store.directory import StoreDirectory
from sidecar.stream.control import metric_letter, metric_sink
from sidecar.stream.sink import EventSink

__all__ = ["JoinExporter", "metric_events", "store_points"]

log = logging.getLogger(__name__)


def store_points(result: WindowResult) -> dict[str, float]:
    """The store series of one window: realized metrics by name, ``estimated_<metric>``,
    ``label_coverage`` and ``label_delay_<quantile>``; non-finite values are left out."""
    points: dict[str, float] = dict(result.metrics)
    points.update({f"estimated_{name}": _value(est) for name, est in result.estimated.items()})
    points["label_coverage"] = result.coverage
    points.update({f"label_delay_{q}": v for q, v in result.delays.items()})
    return {k: float(v) for k, v in points.items() if math.isfinite(v)}


def metric_events(model: str, results: list[WindowResult]) -> list[MetricEvent]:
    """The windows' realized and estimated metrics as metric events, one per (metric, kind), points at the
    windows' starts; non-finite values are left out."""
    series: dict[tuple[str, MetricKind], dict[Any, float]] = {}
    for result in results:
        kinds: tuple[tuple[MetricKind, Mapping[str, float]], ...] = (
            ("realized", result.metrics), ("estimated", {k: _value(v) for k, v in result.estimated.items()}))
        for kind, values in kinds:
            for metric, value in values.items():
                if math.isfinite(value):
                    series.setdefault((metric, kind), {})[result.start] = float(value)
    return [MetricEvent(model=model, metric=metric, kind=kind,
                        points=[MetricPoint(time=t, value=v) for t, v in sorted(points.items())])
            for (metric, kind), points in series.items()]


def _value(estimate: Any) -> float:
    return float(getattr(estimate, "value", estimate))


class JoinExporter:
    """Publishes window results of one model.

    Parameters
    ----------
    settings : the joiner's settings (model, store, optional ``sla``)
    metrics : the joiner's metrics
    notifier : an :class:`~sidecar.alerts.AlertNotifier` (or anything with ``on_report(stream, report)``)
    """

    def __init__(self, settings: Settings, metrics: JoinMetrics, notifier: Any | None = None) -> None:
        self.settings = settings
        self.model = settings.model
        self.metrics = metrics
        self.notifier = notifier
        self.store = StoreDirectory(settings.store.path)
        self.realized: WindowResult | None = None
        self.estimated: WindowResult | None = None
        #: The control room's metric events (``None`` when ``publish.enabled`` is off); a service of the app.
        self.events: EventSink | None = metric_sink(settings, metrics.model_level)

    def publish(self, results: list[WindowResult]) -> None:
        """Store every result, send it to the control room, move the gauges to the newest complete-enough
        window, judge SLAs."""
        if not results:
            return
        try:
            with self.store.production_metrics() as db:
                for result in results:
                    for metric, value in store_points(result).items():
                        db.write(self.model, metric, [(result.start, value)])
        except Exception:  # the store is a side output: a full disk must not stop the join
            log.exception("could not write production metrics to %s", self.store.production_metrics_path)
            self.metrics.model_level.store_errors.labels(self.model, "production_metrics").inc()
        if self.events is not None:
            for event in metric_events(self.model, results):
                self.events.submit(metric_letter(event, self.settings.publish.metrics_topic))
        changed = False
        for result in results:
            if result.metrics and (self.realized is None or result.start >= self.realized.start):
                self.realized, changed = result, True
            if result.estimated and (self.estimated is None or result.start >= self.estimated.start):
                self.estimated, changed = result, True
        if changed:
            self._gauges()
            self._sla()

    def _gauges(self) -> None:
        m, model = self.metrics, self.model
        if self.realized is not None:
            m.model_level.set_production({k: v for k, v in self.realized.metrics.items() if math.isfinite(v)})
            m.coverage.labels(model).set(self.realized.coverage)
            for q, v in self.realized.delays.items():
                m.label_delay.labels(model, q).set(v)
        if self.estimated is not None:
            m.set_estimated(self.estimated.estimated)

    def _sla(self) -> None:
        sla = self.settings.sla
        if not sla:
            return
        from sidecar.performance.sla import sla_report

        window = self.realized or self.estimated
        assert window is not None
        realized: Mapping[str, float] = self.realized.metrics if self.realized is not None else {}
        estimated = dict(self.estimated.estimated) if self.estimated is not None else {}
        started = time.perf_counter()
        report = sla_report(self.model, dict(realized), estimated, sla, window.start, window.end,
                            window.predictions)
        self.metrics.model_level.publish(report, time.perf_counter() - started)
        if self.notifier is not None:
            self.notifier.on_report(None, report)
