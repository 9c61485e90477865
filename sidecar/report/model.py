"""Validation reports: :class:`Status`, :class:`CheckResult` and :class:`ValidationReport`.

These immutable objects are what every consumer reads: the text rendering, the JSON files, the REST API,
the dashboard and the Prometheus collector.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from typing_extensions import TypedDict

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CHECK_NAMES", "TABLE_FEATURE", "CheckResult", "RowCount", "Status", "ValidationReport", "worst_by_series"]

#: ``feature`` of table-level rows in metrics and alerts: a real value, because an empty label is no label in
#: PromQL and would fall out of joins ``on(feature)``.
TABLE_FEATURE = "*"

#: Every check name a report can hold, in display order.
CHECK_NAMES = ("schema", "row_count", "special_values", "min_max", "uniqueness", "domain", "distribution", "custom")


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


class RowCount(TypedDict):
    """Rows expected (reference or configured), rows seen, and relative change (a plain dict)."""

    expected: int
    actual: int
    change: float | None


class ValidationReport(BaseModel):
    """The outcome of validating data against a contract.

    Examples
    --------
    >>> r = ValidationReport(contract="c", results=[CheckResult(check="schema", column="a", status="warning")])
    >>> r.status, r.summary["schema"]
    (<Status.WARNING: 'warning'>, {'healthy': 0, 'warning': 1, 'critical': 0})
    """

    model_config = ConfigDict(frozen=True)

    contract: str
    contract_version: int | None = None
    contract_sha256: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    window_start: datetime | None = None
    window_end: datetime | None = None
    partial: bool = False
    row_count: RowCount = Field(default_factory=lambda: RowCount(expected=0, actual=0, change=None),
                                description="expected rows, actual rows, change = (actual - expected) / expected")
    status: Status = Status.HEALTHY
    summary: dict[str, dict[str, int]] = Field(default_factory=dict)
    results: list[CheckResult] = Field(default_factory=list)

    @model_validator(mode="after")
    def _derive(self) -> ValidationReport:
        # status and summary are derived from results so they can never disagree with them.
        summary: dict[str, dict[str, int]] = {}
        for r in self.results:
            row = summary.setdefault(r.check, {"healthy": 0, "warning": 0, "critical": 0})
            row[r.status.value] += 1
        # Rows come worst first; the summary reads in the documented check order whatever the rows' order.
        order = {name: i for i, name in enumerate(CHECK_NAMES)}
        summary = dict(sorted(summary.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
        object.__setattr__(self, "summary", summary)
        object.__setattr__(self, "status", Status.worst(r.status for r in self.results))
        return self

    def to_json(self, *, indent: int | None = None) -> str:
        """JSON text (the format of ``schemas/report.schema.json``)."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> ValidationReport:
        """Parse :meth:`to_json` output."""
        return cls.model_validate_json(text)

    def by_status(self, status: Status) -> list[CheckResult]:
        """Rows with ``status``."""
        return [r for r in self.results if r.status is status]

    def to_text(self, *, show_healthy: bool = False) -> str:
        """A readable rendering: headline, summary table, then the rows that need attention."""
        from sidecar.report.text import render_text

        return render_text(self, show_healthy=show_healthy)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per result (worst first): check, column, status, value, warning, critical, then a
        ``details.<key>`` column per scalar detail (see :func:`sidecar.report.report_frame`)."""
        from sidecar.report.frame import report_frame

        return report_frame(self)

    def to_html(self, path: str | Path) -> Path:
        """Write a self-contained HTML page (works offline: uPlot, CSS and data inlined) and return its path.

        Examples
        --------
        >>> import tempfile
        >>> r = ValidationReport(contract="c", results=[CheckResult(check="schema", column="a", status="healthy")])
        >>> r.to_html(Path(tempfile.mkdtemp()) / "report.html").read_text().count('data-count="healthy">1<')
        1
        """
        from sidecar.report.html import write_html

        return write_html(self, path)

    def _repr_html_(self) -> str:
        # Jupyter's rich display: the same page, isolated in an iframe.
        from sidecar.report.html import render_notebook

        return render_notebook(self)

    def __str__(self) -> str:
        return self.to_text()


def worst_by_series(results: list[CheckResult], *, judged_only: bool = False) -> dict[tuple[str, str], CheckResult]:
    """The worst row of each ``(check, feature)`` series (several rows share one: special values per value,
    custom checks), the larger value breaking ties; what a metric or an alert reports for the series.

    ``judged_only`` leaves out rows that judged nothing (a check skipped because the schema row says why).
    """
    out: dict[tuple[str, str], CheckResult] = {}
    for r in results:
        if judged_only and r.details.get("skipped"):
            continue
        key = (r.check, r.column if r.column is not None else TABLE_FEATURE)
        best = out.get(key)
        if best is None or _rank(r) > _rank(best):
            out[key] = r
    return out


def _rank(r: CheckResult) -> tuple[int, float]:
    return r.status.severity, r.value if r.value is not None else -1.0
