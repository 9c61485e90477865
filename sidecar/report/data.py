"""The data of a validation report: its fields, the status and summary derived from its rows, and what
every reader of those rows shares (:func:`worst_by_series`, :data:`TABLE_FEATURE`).

:class:`ReportData` is what the renderings (:mod:`~sidecar.report.text`, :mod:`~sidecar.report.frame`,
:mod:`~sidecar.report.html`) read; :class:`~sidecar.report.model.ValidationReport` adds the renderings and
JSON on top. The rows themselves (:class:`CheckResult`, :class:`Status`) are what checks return
(:mod:`sidecar.checks.result`); the summary reads in the check registry's order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import TypedDict

from sidecar.checks import display_order
from sidecar.checks.keys import TABLE
from sidecar.checks.result import CheckResult, Status

__all__ = ["TABLE_FEATURE", "ReportData", "RowCount", "worst_by_series"]

#: ``feature`` of table-level rows in metrics and alerts: the table's settings key, a real value because an
#: empty label is no label in PromQL and would fall out of joins ``on(feature)``.
TABLE_FEATURE = TABLE


class RowCount(TypedDict):
    """Rows expected (reference or configured), rows seen, and relative change (a plain dict)."""

    expected: int
    actual: int
    change: float | None


class ReportData(BaseModel):
    """The fields of a validation report; ``status`` and ``summary`` are derived from ``results``."""

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
    def _derive(self) -> Self:
        # status and summary are derived from results so they can never disagree with them.
        summary: dict[str, dict[str, int]] = {}
        for r in self.results:
            row = summary.setdefault(r.check, {"healthy": 0, "warning": 0, "critical": 0})
            row[r.status.value] += 1
        # Rows come worst first; the summary reads in the registry's check order whatever the rows' order.
        summary = dict(sorted(summary.items(), key=lambda kv: display_order(kv[0])))
        object.__setattr__(self, "summary", summary)
        object.__setattr__(self, "status", Status.worst(r.status for r in self.results))
        return self

    def by_status(self, status: Status) -> list[CheckResult]:
        """Rows with ``status``."""
        return [r for r in self.results if r.status is status]


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
