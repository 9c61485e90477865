"""Production SLAs: per-metric warning and critical bounds, judged on realized and on estimated metrics.

The ``sla:`` section of the settings maps a metric name to a :class:`SlaBound`::

    sla:
      accuracy: {warning: 0.85, critical: 0.8}              # direction min: stay at or above
      log_loss: {warning: 0.5, critical: 0.7, direction: max, on: realized}

:func:`sla_report` turns one window's metrics into a :class:`~sidecar.report.model.ValidationReport` of
``check="sla"`` rows (contract ``<model>.performance``), so SLA crossings travel the same way as every other
check: ``SidecarMetrics.publish`` sets ``model_health_check_status{check="sla", feature=<metric>}`` and the
alert tracker turns them into alert events. :meth:`sidecar.metrics.SidecarMetrics.init_sla` exports the
``direction: min`` bounds as ``model_health_production_metric_sla{model,metric,severity}``, the lower bounds
the Prometheus rule ``ModelHealthProductionMetricBelowSLA`` compares the realized metrics with.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, model_validator

from sidecar.performance.cbpe import ESTIMATED_METRICS
from sidecar.report.model import CheckResult, RowCount, Status, ValidationReport

__all__ = ["ESTIMATED_PREFIX", "SlaBound", "SlaSettings", "sla_report"]

#: ``column`` (and metric ``feature``) of a row judging an estimated metric: ``"estimated:accuracy"``.
ESTIMATED_PREFIX = "estimated:"

#: ``details["reason"]`` of the row of a metric the window cannot define (e.g. ROC AUC with one class).
UNDEFINED = "undefined in this window"


class SlaBound(BaseModel):
    """The bounds of one metric.

    ``direction: min`` (the default) means the metric must stay at or above its bounds (accuracy, ROC AUC);
    ``max`` at or below (log loss, MAE). ``critical`` is the worse bound: below ``warning`` for ``min``,
    above it for ``max``. ``on`` says which values are judged: the realized metric (from outcomes), the
    estimate (before outcomes, classification only: accuracy, precision, recall, F1, ROC AUC) or both.

    Examples
    --------
    >>> SlaBound(warning=0.85, critical=0.8).judge(0.82)
    <Status.WARNING: 'warning'>
    >>> SlaBound(critical=0.5, direction="max", on="realized").judge(0.7)
    <Status.CRITICAL: 'critical'>
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    warning: float | None = None
    critical: float | None = None
    direction: Literal["min", "max"] = "min"
    on: Literal["realized", "estimated", "both"] = "both"

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True: `{critical: 0.7, on: estimated}`
        # arrives as {True: "estimated"}. Take it back as the `on` it was written as.
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> SlaBound:
        if self.warning is None and self.critical is None:
            raise ValueError("set warning, critical or both")
        for name in ("warning", "critical"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
        if self.warning is not None and self.critical is not None:
            worse = self.critical <= self.warning if self.direction == "min" else self.critical >= self.warning
            if not worse:
                side = "below" if self.direction == "min" else "above"
                raise ValueError(f"critical ({self.critical}) must be at or {side} warning ({self.warning}) for "
                                 f"direction {self.direction}")
        return self

    def judge(self, value: float) -> Status:
        """The status of ``value`` (a value equal to a bound keeps to it: healthy)."""
        def crosses(bound: float | None) -> bool:
            return bound is not None and (value < bound if self.direction == "min" else value > bound)

        if crosses(self.critical):
            return Status.CRITICAL
        return Status.WARNING if crosses(self.warning) else Status.HEALTHY


#: ``sla:`` of the settings: metric name -> bounds.
SlaSettings = dict[str, SlaBound]


def check_sla_settings(sla: Mapping[str, SlaBound]) -> None:
    """Reject bounds that can never be judged: ``on: estimated`` for a metric CBPE does not estimate.

    Raises ``ValueError`` naming the metric (the settings validator reports it under ``sla.<metric>``).
    """
    for metric, bound in sla.items():
        if not metric or metric.startswith(ESTIMATED_PREFIX):
            raise ValueError(f"sla: {metric!r} is not a metric name (use the plain name and on: estimated)")
        if bound.on == "estimated" and metric not in ESTIMATED_METRICS:
            raise ValueError(f"sla.{metric}: on: estimated, but only {', '.join(ESTIMATED_METRICS)} are estimated")


class _Band(Protocol):
    """An estimate with its band (:class:`sidecar.performance.cbpe.Estimate`)."""

    @property
    def value(self) -> float: ...
    @property
    def lower(self) -> float: ...
    @property
    def upper(self) -> float: ...


def _row(column: str, value: float, bound: SlaBound, band: _Band | None) -> CheckResult:
    details: dict[str, Any] = {"direction": bound.direction, "on": bound.on}
    if band is not None:
        details["band"] = [_json_number(band.lower), _json_number(band.upper)]
    if math.isnan(value):
        details["reason"] = UNDEFINED
        status = Status.HEALTHY
    else:
        status = bound.judge(value)
    return CheckResult(check="sla", column=column, status=status, value=value, warning=bound.warning,
                       critical=bound.critical, details=details)


def _json_number(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def sla_report(model: str, realized: Mapping[str, float], estimated: Mapping[str, float | _Band],
               sla: Mapping[str, SlaBound], window_start: datetime, window_end: datetime,
               rows: int) -> ValidationReport:
    """One window's SLA verdicts as a report of ``check="sla"`` rows.

    Parameters
    ----------
    model
        The model; the report's contract is ``f"{model}.performance"``.
    realized
        ``{metric: value}`` measured from outcomes (:func:`sidecar.performance.realized.classification_metrics`).
    estimated
        ``{metric: value}`` or ``{metric: Estimate}`` (:meth:`sidecar.performance.cbpe.CBPE.estimate`); an
        :class:`~sidecar.performance.cbpe.Estimate` adds its band to the row's details.
    sla
        Bounds by metric name (the ``sla:`` settings).
    window_start, window_end
        The window the metrics describe.
    rows
        Predictions in the window.

    Returns
    -------
    ValidationReport
        One row per bound and value judged, worst first: ``column`` is the metric for a realized value and
        ``"estimated:<metric>"`` for an estimate; details hold ``direction``, ``on`` and, for estimates,
        ``band`` ``[lower, upper]``. A metric the window does not have gives no row; a NaN value (undefined
        in the window) a healthy row whose ``details["reason"]`` says so.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 12, 1, tzinfo=UTC)
    >>> r = sla_report("churn", {"accuracy": 0.78}, {"accuracy": 0.86}, {"accuracy": SlaBound(warning=0.85,
    ...                critical=0.8)}, t, t, rows=2000)
    >>> r.contract, [(x.column, x.status.value) for x in r.results]
    ('churn.performance', [('accuracy', 'critical'), ('estimated:accuracy', 'healthy')])
    """
    results: list[CheckResult] = []
    for metric, bound in sla.items():
        if bound.on in ("realized", "both") and metric in realized:
            results.append(_row(metric, float(realized[metric]), bound, None))
        if bound.on in ("estimated", "both") and metric in estimated:
            est = estimated[metric]
            if isinstance(est, int | float | numbers.Real):      # numpy scalars are Real, not float
                results.append(_row(ESTIMATED_PREFIX + metric, float(est), bound, None))
            else:
                results.append(_row(ESTIMATED_PREFIX + metric, float(est.value), bound, est))
    results.sort(key=lambda r: -r.status.severity)
    return ValidationReport(contract=f"{model}.performance", window_start=window_start, window_end=window_end,
                            row_count=RowCount(expected=0, actual=rows, change=None), results=results)
