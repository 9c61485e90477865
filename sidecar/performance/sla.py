"""Production SLAs: per-metric warning and critical bounds, judged on realized and on estimated metrics.

The ``sla:`` section of the settings maps a metric name to a :class:`~sidecar.config.sla.SlaBound`::

    sla:
      accuracy: {warning: 0.85, critical: 0.8}              # direction min: stay at or above
      log_loss: {warning: 0.5, critical: 0.7, direction: max, on: realized}

:func:`sla_report` turns one window's metrics into a :class:`~sidecar.report.model.ValidationReport` of
``check="sla"`` rows (contract ``<model>.performance``), so SLA crossings travel the same way as every other
check: ``ModelMetrics.publish`` sets ``model_health_check_status{check="sla", feature=<metric>}`` and the
alert tracker turns them into alert events. :meth:`sidecar.metrics.ModelMetrics.init_sla` exports the
``direction: min`` bounds as ``model_health_production_metric_sla{model,metric,severity}``, the lower bounds
the Prometheus rule ``ModelHealthProductionMetricBelowSLA`` compares the realized metrics with.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

# The bounds are settings (sidecar.config.sla); these names were defined here before and still import from here.
from sidecar.config.sla import ESTIMATED_PREFIX, SlaBound, SlaSettings, check_sla_settings
from sidecar.report.model import CheckResult, RowCount, Status, ValidationReport

__all__ = ["ESTIMATED_PREFIX", "UNDEFINED", "SlaBound", "SlaSettings", "check_sla_settings", "sla_report"]

#: ``details["reason"]`` of the row of a metric the window cannot define (e.g. ROC AUC with one class).
UNDEFINED = "undefined in this window"


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
