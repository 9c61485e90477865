"""Every Prometheus metric family the sidecar exposes, defined in one place, in per-process metric sets.

Names follow DESIGN.md section 5 (prefix ``model_health_``). Each process exports one metric set on a
registry of its own, and a set carries only the families its process writes, so nothing it exports stands
still at a start-up value that no code updates (a joiner that exported the stream's ``model_health_kafka_up 0``
paged for a Kafka outage it could not have):

- :class:`ModelMetrics`, the model-level families every process of a model writes: the verdicts of judged
  reports (check status, value and thresholds, window rows and end, evaluation time), production metrics
  and their SLA bounds, alert events, events published for the control room and store errors;
- :class:`SidecarMetrics` (``sidecar run``): a ModelMetrics and the stream's families (records, Kafka,
  windows, dead letters, the contract judged, drift scores);
- :class:`JoinMetrics` (``sidecar join``): a ModelMetrics and the join's families (label coverage and
  delay, join events, pending halves, estimated metrics).

Series for every feature of a contract are created at start-up with value 0, so dashboards and alert rules
see them before the first window closes. Labels never carry request ids or raw values. The registry
exposes no ``*_created`` series (see :class:`MetricsRegistry`). This module reads contracts, estimates and
SLA bounds through the small protocols below, so it depends on nothing above the report model.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.metrics_core import Metric

from sidecar.checks import settings_key
from sidecar.report.model import TABLE_FEATURE, CheckResult, ValidationReport, worst_by_series

__all__ = ["Band", "JoinMetrics", "JudgedContract", "MetricsRegistry", "ModelMetrics", "SidecarMetrics", "SlaLimit",
           "Thresholds"]

_CHECK_LABELS = ("model", "contract", "check", "feature")

#: Metric types for which prometheus_client adds a ``<name>_created`` sample.
_TYPES_WITH_CREATED = frozenset({"counter", "histogram", "summary", "gaugehistogram"})


class MetricsRegistry(CollectorRegistry):
    """A ``CollectorRegistry`` whose collection carries no ``*_created`` series.

    prometheus_client adds a ``<name>_created`` sample (when the series was created) to every counter,
    histogram and summary series; Prometheus stores each as one more series that no rule here reads. The
    library's own switch (``disable_created_metrics()``) flips a process-wide global, which would change
    every other registry in the process too; this registry drops them from its own collection only,
    through the public ``collect()`` hook, so ``generate_latest(registry)`` and ``get_sample_value`` agree.
    """

    def collect(self) -> Iterator[Metric]:
        """Every family of the registry, less its ``_created`` samples."""
        for family in super().collect():
            if family.type in _TYPES_WITH_CREATED:
                created = family.name + "_created"
                if any(s.name == created for s in family.samples):
                    family = copy.copy(family)
                    family.samples = [s for s in family.samples if s.name != created]
            yield family


# -- what the metric sets read of other packages' objects ----------------------------------------------------
class Thresholds(Protocol):
    """One check's settings on one column, as far as metrics go (a ``CheckSettings``)."""

    @property
    def warning(self) -> float | None: ...

    @property
    def critical(self) -> float | None: ...


class JudgedContract(Protocol):
    """What :meth:`SidecarMetrics.init_stream` reads of the contract a stream is judged against (a
    ``DataContract``): its identity and its checks' settings by check name and settings key."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int | None: ...

    @property
    def sha256(self) -> str | None: ...

    @property
    def settings(self) -> Mapping[str, Mapping[str, Thresholds]]: ...


class Band(Protocol):
    """An estimated metric and its confidence band (a ``performance.cbpe.Estimate``)."""

    @property
    def value(self) -> float: ...

    @property
    def lower(self) -> float: ...

    @property
    def upper(self) -> float: ...


class SlaLimit(Protocol):
    """One metric's SLA bound (a ``SlaBound``): ``direction`` min or max, judged ``on`` realized, estimated
    or both."""

    @property
    def direction(self) -> str: ...

    @property
    def on(self) -> str: ...

    @property
    def warning(self) -> float | None: ...

    @property
    def critical(self) -> float | None: ...


# -- the metric sets ----------------------------------------------------------------------------------------
class ModelMetrics:
    """The model-level families on ``registry`` for one model: what both ``sidecar run`` and ``sidecar join``
    write (the verdicts of the reports they judge, production metrics, SLA bounds, alert events, store
    errors).

    The default registry is a new :class:`MetricsRegistry` (no ``*_created`` series); a registry passed in
    is used as it is.
    """

    def __init__(self, model: str, registry: CollectorRegistry | None = None) -> None:
        self.model = model
        self.registry = registry if registry is not None else MetricsRegistry()
        self._production_metrics: set[str] = set()
        r = self.registry
        self.status = Gauge("model_health_check_status", "Check status: 0 healthy, 1 warning, 2 critical.",
                            _CHECK_LABELS, registry=r)
        self.value = Gauge("model_health_check_value", "Measured value of a check in the last window.",
                           _CHECK_LABELS, registry=r)
        self.threshold = Gauge("model_health_check_threshold", "Threshold of a check, by severity.",
                               (*_CHECK_LABELS, "severity"), registry=r)
        self.window_rows = Gauge("model_health_window_rows", "Rows in the last evaluated window.",
                                 ("model", "contract"), registry=r)
        self.window_end = Gauge("model_health_window_end_timestamp_seconds", "End of the last evaluated window.",
                                ("model", "contract"), registry=r)
        self.eval_duration = Histogram("model_health_window_evaluation_duration_seconds",
                                       "Time to evaluate a closed window.", ("model",), registry=r,
                                       buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
        self.production = Gauge("model_health_production_metric", "Production metric (accuracy, roc_auc, ...).",
                                ("model", "metric"), registry=r)
        self.production_sla = Gauge("model_health_production_metric_sla",
                                    "Lower bound a production metric must stay at or above (sla: settings).",
                                    ("model", "metric", "severity"), registry=r)
        self.store_errors = Counter("model_health_store_errors",
                                    "Failures to write to the store directory (reports), by operation.",
                                    ("model", "operation"), registry=r)
        self.alert_events = Counter("model_health_alert_events",
                                    "Alert events by target (kafka, alertmanager) and result (sent, failed attempt, "
                                    "dropped).", ("model", "target", "result"), registry=r)
        self.published_events = Counter(
            "model_health_published_events",
            "Events for the control room (report, metric) by target (kafka, http) and result (sent, failed "
            "attempt, dropped: never delivered).", ("model", "event", "target", "result"), registry=r)

    def set_thresholds(self, contract: str, check: str, feature: str, warning: float | None,
                       critical: float | None) -> None:
        """Set ``model_health_check_threshold`` of one series, one sample per severity that has a value."""
        for severity, value in (("warning", warning), ("critical", critical)):
            if value is not None:
                self.threshold.labels(self.model, contract, check, feature, severity).set(value)

    def publish(self, report: ValidationReport, duration_seconds: float) -> dict[tuple[str, str], CheckResult]:
        """Update the verdict gauges from a judged report; returns the worst row of each ``(check, feature)``
        series, the row each series now shows."""
        name = report.contract
        self.window_rows.labels(self.model, name).set(report.row_count["actual"])
        if report.window_end is not None:
            self.window_end.labels(self.model, name).set(report.window_end.timestamp())
        self.eval_duration.labels(self.model).observe(duration_seconds)
        values: dict[tuple[str, str], list[float]] = {}
        for r in report.results:
            if r.value is not None:
                values.setdefault((r.check, r.column if r.column is not None else TABLE_FEATURE), []).append(r.value)
        worst_rows = worst_by_series(report.results)
        for (check, feature), worst in worst_rows.items():
            self.status.labels(self.model, name, check, feature).set(worst.status.severity)
            if (check, feature) in values:
                self.value.labels(self.model, name, check, feature).set(max(values[(check, feature)]))
            self.set_thresholds(name, check, feature, worst.warning, worst.critical)
        return worst_rows

    def set_production(self, latest: Mapping[str, float]) -> None:
        """Set ``model_health_production_metric`` to ``{metric: value}``; series not in ``latest`` go away.

        ``latest`` is every production metric of the model (the newest point of each series in the store),
        so a series deleted from the store stops being exported rather than staying at its last value.
        """
        for metric in self._production_metrics - latest.keys():
            self.production.remove(self.model, metric)
        for metric, value in latest.items():
            self.production.labels(self.model, metric).set(value)
        self._production_metrics = set(latest)

    def init_sla(self, sla: Mapping[str, SlaLimit]) -> None:
        """Export the ``sla:`` lower bounds as ``model_health_production_metric_sla{model,metric,severity}``.

        Only ``direction: min`` bounds judged on realized values (``on: realized`` or ``both``): the rule
        ``ModelHealthProductionMetricBelowSLA`` reads the series as a lower bound of the realized
        ``model_health_production_metric``. Upper bounds and estimate-only bounds are judged by the sidecar
        itself (``check="sla"`` rows, see :func:`sidecar.performance.sla.sla_report`).
        """
        for metric, bound in sla.items():
            if bound.direction != "min" or bound.on == "estimated":
                continue
            for severity, value in (("warning", bound.warning), ("critical", bound.critical)):
                if value is not None:
                    self.production_sla.labels(self.model, metric, severity).set(value)


class SidecarMetrics:
    """``sidecar run``'s metrics for one model: its :class:`ModelMetrics` (``model_level``) and the stream's
    families, on one registry (a new :class:`MetricsRegistry` unless one is passed in)."""

    def __init__(self, model: str, registry: CollectorRegistry | None = None) -> None:
        self.model_level = ModelMetrics(model, registry)
        self.model = model
        self.registry = r = self.model_level.registry
        self.records = Counter("model_health_records", "Records consumed, by outcome.",
                               ("model", "topic", "result"), registry=r)
        self.drift = Gauge("model_health_feature_drift_score", "Distribution distance of a feature in the last window.",
                           ("model", "contract", "feature", "method"), registry=r)
        self.contract_info = Info("model_health_contract", "The contract a stream is judged against.",
                                  ("model", "contract"), registry=r)
        self.kafka_up = Gauge("model_health_kafka_up", "1 when the Kafka consumer is connected.", ("model",),
                              registry=r)
        self.kafka_errors = Counter("model_health_kafka_errors", "Kafka errors (connection, commit, produce).",
                                    ("model", "operation"), registry=r)
        self.open_windows = Gauge("model_health_open_windows", "Windows currently collecting rows.",
                                  ("model", "contract"), registry=r)
        self.http_ignored = Counter(
            "model_health_http_events_ignored",
            "Events posted to /v1/events for a stream this sidecar does not watch (accepted, not judged).",
            ("model", "stream"), registry=r)
        self.dead_letter_failures = Counter(
            "model_health_dead_letter_failures",
            "Dead-letter copies that can never be delivered (quarantined locally, committed past), by reason.",
            ("model", "topic", "reason"), registry=r)
        self.worker_restarts = Counter("model_health_ingest_worker_restarts",
                                       "Times the ingest worker process was lost (its windows are replayed).",
                                       ("model",), registry=r)
        self.kafka_up.labels(model).set(0)
        self.worker_restarts.labels(model)

    def init_stream(self, topic: str, contract: JudgedContract) -> None:
        """Create every series of ``contract``'s features at 0, before the first window."""
        name = contract.name
        shared = self.model_level
        for result in ("ok", "dead_lettered", "late"):
            self.records.labels(self.model, topic, result)
        self.contract_info.labels(self.model, name).info(
            {"version": str(contract.version or 0), "sha256": contract.sha256 or ""})
        shared.window_rows.labels(self.model, name).set(0)
        shared.window_end.labels(self.model, name).set(0)
        self.open_windows.labels(self.model, name).set(0)
        for check, per_col in contract.settings.items():
            for key, settings in per_col.items():
                feature = settings_key(check, key).feature  # the column, or TABLE_FEATURE ("*")
                shared.status.labels(self.model, name, check, feature).set(0)
                if settings.warning is not None or settings.critical is not None:
                    # Checks without thresholds (schema, row_count as information) have no value to export.
                    shared.value.labels(self.model, name, check, feature).set(0)
                shared.set_thresholds(name, check, feature, settings.warning, settings.critical)
                method = getattr(settings, "method", None)
                if check == "distribution" and method:
                    self.drift.labels(self.model, name, feature, _method_label(method)).set(0)

    def publish(self, report: ValidationReport, duration_seconds: float) -> None:
        """Update the verdict gauges and the drift scores from a window's report."""
        for (check, feature), worst in self.model_level.publish(report, duration_seconds).items():
            if check == "distribution" and worst.value is not None:
                method = _method_label(str(worst.details.get("method", "")))
                self.drift.labels(self.model, report.contract, feature, method).set(worst.value)


class JoinMetrics:
    """``sidecar join``'s metrics for one model: its :class:`ModelMetrics` (``model_level``: SLA verdicts,
    realized production metrics, alert events, store errors) and the join's families (label coverage and
    delay, join events, pending halves, estimated metrics), on one registry (a new :class:`MetricsRegistry`
    unless one is passed in)."""

    def __init__(self, model: str, registry: CollectorRegistry | None = None) -> None:
        self.model_level = ModelMetrics(model, registry)
        self.model = model
        self.registry = r = self.model_level.registry
        self._estimated_metrics: set[str] = set()
        self.estimated = Gauge("model_health_estimated_metric",
                               "Production metric estimated from the scores before outcomes arrive (CBPE).",
                               ("model", "metric"), registry=r)
        self.estimated_bound = Gauge("model_health_estimated_metric_bound",
                                     "Confidence band of an estimated metric (bound: lower, upper).",
                                     ("model", "metric", "bound"), registry=r)
        self.coverage = Gauge("model_health_label_coverage",
                              "Share of the exported window's predictions that have an outcome.", ("model",),
                              registry=r)
        self.label_delay = Gauge("model_health_label_delay_seconds",
                                 "Outcome time minus prediction time in the exported window, by quantile.",
                                 ("model", "quantile"), registry=r)
        self.join_events = Counter("model_health_join_events", "Join events (joined, duplicate, expired, "
                                   "orphaned, ...).", ("model", "event"), registry=r)
        self.join_pending = Gauge("model_health_join_pending", "Halves waiting for their pair, by kind.",
                                  ("model", "kind"), registry=r)
        self.coverage.labels(model).set(0)
        for kind in ("prediction", "outcome"):
            self.join_pending.labels(model, kind).set(0)

    def set_estimated(self, estimates: Mapping[str, Band]) -> None:
        """Set ``model_health_estimated_metric`` and its band from a window's ``CBPE.estimate``.

        A metric the window leaves undefined (NaN) or does not carry loses its series rather than keeping
        the previous window's value.
        """
        defined = {m: e for m, e in estimates.items() if e.value == e.value}    # NaN != NaN
        for metric in self._estimated_metrics - defined.keys():
            self.estimated.remove(self.model, metric)
            for bound in ("lower", "upper"):
                self.estimated_bound.remove(self.model, metric, bound)
        for metric, e in defined.items():
            self.estimated.labels(self.model, metric).set(e.value)
            self.estimated_bound.labels(self.model, metric, "lower").set(e.lower)
            self.estimated_bound.labels(self.model, metric, "upper").set(e.upper)
        self._estimated_metrics = set(defined)


def _method_label(method: str) -> str:
    """Custom callables are labelled by their function name only (bounded, no addresses)."""
    if ":" in method:
        return "custom:" + method.rsplit(":", 1)[1].split("@", 1)[0].rsplit(".", 1)[-1]
    return method
