"""What an event must satisfy, beyond its model, before the control room's database can hold it.

The event models (:class:`~sidecar.report.event.ReportEvent`, :class:`~sidecar.store.base.MetricEvent`) accept
any text and any integer; the tables do not: names are ``VARCHAR(200)``, counts ``BIGINT``, versions
``INTEGER``, and PostgreSQL refuses a NUL character in text. A time with an offset at the edge of the
calendar cannot be converted to UTC. Left unchecked, one such event would fail its whole transaction: a
500 over HTTP, a stalled partition for the Kafka ingest. So both ways in ask :func:`report_problem` and
:func:`metric_problem` first, and refuse (422, or count and skip) an event that names a problem.

>>> from sidecar.report.model import ValidationReport
>>> report_problem(ReportEvent(model="churn", report=ValidationReport(contract="c" * 201)))
('report.contract', 'must be at most 200 characters, got 201')
>>> report_problem(ReportEvent(model="<script>", report=ValidationReport(contract="c"))) is None
True
"""

from __future__ import annotations

from datetime import UTC, datetime

from sidecar.report.event import ReportEvent
from sidecar.store.base import MetricEvent

__all__ = ["MAX_NAME", "metric_problem", "report_problem"]

#: Longest model, contract, check or metric name the tables hold.
MAX_NAME = 200
_INT32 = 2**31 - 1
_INT64 = 2**63 - 1


def report_problem(event: ReportEvent) -> tuple[str, str] | None:
    """``(field, message)`` of the first reason ``event`` cannot be stored, else ``None``."""
    r = event.report
    texts: list[tuple[str, str | None]] = [("id", event.id), ("model", event.model), ("pod", event.pod),
                                           ("monitor", event.monitor), ("report.contract", r.contract)]
    for field, text in texts:
        problem = _text_problem(text, MAX_NAME if field in ("model", "monitor", "report.contract") else None)
        if problem:
            return field, problem
    if r.contract_version is not None and not -_INT32 - 1 <= r.contract_version <= _INT32:
        return "report.contract_version", f"must fit in 32 bits, got {r.contract_version}"
    for key in ("expected", "actual"):
        value = r.row_count[key]  # type: ignore[literal-required]
        if not -_INT64 - 1 <= value <= _INT64:
            return f"report.row_count.{key}", f"must fit in 64 bits, got {value}"
    for field, time in (("report.created_at", r.created_at), ("report.window_start", r.window_start),
                        ("report.window_end", r.window_end)):
        if time is not None and not _convertible(time):
            return field, "is out of range once converted to UTC"
    for i, result in enumerate(r.results):
        for name, text, bound in (("check", result.check, MAX_NAME), ("column", result.column, None)):
            problem = _text_problem(text, bound)
            if problem:
                return f"report.results.{i}.{name}", problem
    return None


def metric_problem(event: MetricEvent) -> tuple[str, str] | None:
    """``(field, message)`` of the first reason ``event`` cannot be stored, else ``None``."""
    for field, text in (("model", event.model), ("metric", event.metric)):
        problem = _text_problem(text, MAX_NAME)
        if problem:
            return field, problem
    for i, point in enumerate(event.points):
        if not _convertible(point.time):
            return f"points.{i}.time", "is out of range once converted to UTC"
    return None


def _text_problem(text: str | None, bound: int | None) -> str | None:
    if text is None:
        return None
    if "\x00" in text:
        return "must not contain a NUL character"
    if bound is not None and len(text) > bound:
        return f"must be at most {bound} characters, got {len(text)}"
    return None


def _convertible(time: datetime) -> bool:
    try:
        (time if time.tzinfo is not None else time.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        return False
    return True

