"""Reports and events for the SQL store's suite: small, made directly from check rows (fast, exact)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sidecar.checks.result import CheckResult, Status
from sidecar.report.event import ReportEvent, Source
from sidecar.report.model import ValidationReport

T0 = datetime(2026, 3, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def report(contract: str = "inputs", *, end: datetime | None = None, status: Status = Status.HEALTHY,
           columns: Sequence[str] = ("age", "spend"), value: float = 0.1, created: datetime | None = None,
           rows: int = 100) -> ValidationReport:
    """A report whose drift rows on ``columns`` have ``status`` and ``value``, plus a healthy row count; a
    window report ending at ``end`` (5 minutes long) when given."""
    results = [CheckResult(check="row_count", column=None, status=Status.HEALTHY, value=float(rows))]
    results += [CheckResult(check="distribution", column=c, status=status, value=value, warning=0.2, critical=0.3,
                            details={"method": "psi"}) for c in columns]
    return ValidationReport(
        contract=contract, contract_version=1, created_at=created or (end or T0) + timedelta(seconds=1),
        window_start=end - 5 * MINUTE if end is not None else None, window_end=end,
        row_count={"expected": 100, "actual": rows, "change": (rows - 100) / 100}, results=results)


def window(model: str, minute: int, *, contract: str = "inputs", pod: str | None = "pod-1",
           status: Status = Status.HEALTHY, value: float = 0.1, created: datetime | None = None,
           source: Source = "window", monitor: str | None = None, columns: Sequence[str] = ("age", "spend")
           ) -> ReportEvent:
    """The event of ``model``'s window ending ``minute`` minutes after :data:`T0`."""
    return ReportEvent(model=model, source=source, pod=pod, monitor=monitor,
                       report=report(contract, end=T0 + minute * MINUTE, status=status, value=value,
                                     created=created, columns=columns))
