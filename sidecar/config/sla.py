"""The ``sla:`` section: per-metric warning and critical bounds, and which metrics can be judged on estimates.

The bounds are data of the settings; :mod:`sidecar.performance.sla` judges each window's realized and
estimated metrics with them (and re-exports these names, where they lived before).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from sidecar.report.model import Status

__all__ = ["ESTIMATED_METRICS", "ESTIMATED_PREFIX", "SlaBound", "SlaSettings", "check_sla_settings"]

#: The metrics the label-free estimator (:class:`sidecar.performance.cbpe.CBPE`) estimates, so the only ones an
#: SLA can judge ``on: estimated``. Defined here, below both, so the settings check an SLA without importing
#: the estimator, which reads its list from here.
ESTIMATED_METRICS: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "roc_auc")

#: ``column`` (and metric ``feature``) of a row judging an estimated metric: ``"estimated:accuracy"``.
ESTIMATED_PREFIX = "estimated:"


class SlaBound(BaseModel):
    """The bounds of one metric (the ``sla:`` section; judged by :mod:`sidecar.performance.sla`).

    ``direction: min`` (the default) means the metric must stay at or above its bounds (accuracy, ROC AUC);
    ``max`` at or below (log loss, MAE). ``critical`` is the worse bound: below ``warning`` for ``min``,
    above it for ``max``. ``on`` says which values are judged: the realized metric (from outcomes), the
    estimate (before outcomes, classification only: :data:`ESTIMATED_METRICS`) or both.

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
