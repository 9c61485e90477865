"""What a check returns: :class:`CheckResult` rows, each with a :class:`Status`.

They live beside the checks that make them; :mod:`sidecar.report` (the report built from them, and its
renderings) stands above this package and hands both names on.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

__all__ = ["CheckResult", "Status"]


class Status(StrEnum):
    """Outcome of a check, totally ordered by severity: ``Status.CRITICAL > Status.WARNING > Status.HEALTHY``.

    >>> max(Status.WARNING, Status.CRITICAL, Status.HEALTHY), sorted([Status.CRITICAL, Status.HEALTHY])
    (<Status.CRITICAL: 'critical'>, [<Status.HEALTHY: 'healthy'>, <Status.CRITICAL: 'critical'>])
    """

    HEALTHY = "healthy"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def severity(self) -> int:
        """0 healthy, 1 warning, 2 critical (also the value of ``model_health_check_status``)."""
        return _SEVERITY[self]

    # A str enum would compare alphabetically ("critical" < "healthy"); statuses compare by severity, so
    # ``max``, ``sorted`` and ``>=`` mean "worse". Plain strings naming a status compare the same way.
    def _rank(self, other: object) -> int | None:
        if isinstance(other, Status):
            return _SEVERITY[other]
        if isinstance(other, str) and other in _BY_VALUE:
            return _SEVERITY[_BY_VALUE[other]]
        return None

    def __lt__(self, other: object) -> bool:
        rank = self._rank(other)
        return NotImplemented if rank is None else _SEVERITY[self] < rank

    def __le__(self, other: object) -> bool:
        rank = self._rank(other)
        return NotImplemented if rank is None else _SEVERITY[self] <= rank

    def __gt__(self, other: object) -> bool:
        rank = self._rank(other)
        return NotImplemented if rank is None else _SEVERITY[self] > rank

    def __ge__(self, other: object) -> bool:
        rank = self._rank(other)
        return NotImplemented if rank is None else _SEVERITY[self] >= rank

    @classmethod
    def worst(cls, statuses: Any) -> Status:
        """The most severe of ``statuses`` (healthy when empty)."""
        worst = cls.HEALTHY
        for s in statuses:
            if _SEVERITY[s] > _SEVERITY[worst]:
                worst = s
        return worst


_SEVERITY = {Status.HEALTHY: 0, Status.WARNING: 1, Status.CRITICAL: 2}
_BY_VALUE = {s.value: s for s in Status}


class CheckResult(BaseModel):
    """One row of a report: a check on one column (``column`` is ``None`` for table-level checks).

    ``value`` is the measured number (distance, rate, share) or ``None`` when the check has no single
    number; ``warning`` and ``critical`` are the thresholds used; ``details`` is JSON-able.
    """

    model_config = ConfigDict(frozen=True)

    check: str
    column: str | None
    status: Status
    value: float | None = None
    warning: float | None = None
    critical: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    # The null model behind details["p_value"] while a report is assembled: the family-wise step
    # (sidecar.checks.family) asks it for bounds at the levels it settles on, then drops it. Never serialised.
    _noise: Any = PrivateAttr(default=None)

    @property
    def noise_model(self) -> Any:
        """The null model behind ``details["p_value"]`` while a report is being assembled (``None`` once the
        verdicts are final, and in every report read back from JSON)."""
        return self._noise

    def with_noise_model(self, model: Any, **update: Any) -> CheckResult:
        """A copy carrying ``model`` as its :attr:`noise_model` (``None`` drops it), with fields in ``update``
        replaced (as :meth:`model_copy` does: not validated)."""
        out = self.model_copy(update=update)
        out._noise = model
        return out

    @field_validator("value", "warning", "critical")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        # JSON has no NaN/inf; a non-finite measurement is reported as "no number" instead.
        return None if v is None or not math.isfinite(v) else float(v)
