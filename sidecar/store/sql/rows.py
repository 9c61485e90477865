"""Reports to rows and back: a header row, a compressed body, and per check its values on every column.

The body is the report's own JSON (``ValidationReport.to_json``, the format of ``schemas/report.schema.json``)
compressed with zstd at level 1: a 68-feature report of about 120 kB keeps about 14 kB, compressed in about
0.3 ms, several times faster than zlib at a smaller size, which matters when ingest must keep up with every
pod. ``encoding`` names the codec per row, so a later codec needs no migration and old rows stay readable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import cramjam
import orjson

from sidecar.report.event import ReportEvent
from sidecar.report.model import TABLE_FEATURE, ValidationReport, worst_by_series

__all__ = ["BODY_ENCODING", "EVENT_ENCODING", "HEADER_COLUMNS", "column_key", "decode_body", "encode_body",
           "header_fields", "report_rows", "report_time", "utc"]

#: The codec of bodies written now: the report's JSON, or the JSON of the whole event it came in (when the
#: caller hands over the bytes it parsed, which saves serializing the report again: a third of a put's time).
BODY_ENCODING = "zstd+json"
EVENT_ENCODING = "zstd+event-json"
_ZSTD_LEVEL = 1

#: The columns of ``reports`` a header is read from.
HEADER_COLUMNS = ("id", "model", "contract", "contract_version", "source", "pod", "monitor", "time",
                  "window_start", "window_end", "created_at", "partial", "status", "rows_expected",
                  "rows_actual", "rows_change", "healthy", "warning", "critical")


def encode_body(report: ValidationReport, raw: bytes | None = None) -> tuple[str, bytes]:
    """``(encoding, bytes)`` of a report: ``raw``, the event JSON it was parsed from, else its own JSON."""
    if raw is not None:
        return EVENT_ENCODING, bytes(cramjam.zstd.compress(raw, level=_ZSTD_LEVEL))
    return BODY_ENCODING, bytes(cramjam.zstd.compress(report.to_json().encode("utf-8"), level=_ZSTD_LEVEL))


def decode_body(encoding: str, data: bytes) -> ValidationReport:
    """The report stored as ``(encoding, data)``: parsed as it was when it arrived, so equal to it."""
    if encoding == BODY_ENCODING:
        return ValidationReport.from_json(bytes(cramjam.zstd.decompress(data)))
    if encoding == EVENT_ENCODING:
        return ReportEvent.model_validate_json(bytes(cramjam.zstd.decompress(data))).report
    raise ValueError(f"report body encoded as {encoding!r}; this version reads {BODY_ENCODING!r} and "
                     f"{EVENT_ENCODING!r}")


def report_time(report: ValidationReport) -> datetime:
    """Where a report sorts: its window's end, else when it was made."""
    return report.window_end if report.window_end is not None else report.created_at


def report_rows(report_id: str, event: ReportEvent, stored_at: datetime, raw: bytes | None = None
                ) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """``(header, body, values)``: rows of ``reports``, ``report_bodies`` and ``check_values`` for one event.

    ``values`` holds a row per check: ``by_column`` maps each column (``"*"``: the table) to ``[value,
    status]``. A report can hold several rows for one (check, column) (special values, one per value); its
    series keeps the worst of them, the very row ``model_health_check_status`` exports (``worst_by_series``).
    """
    report = event.report
    time = report_time(report)
    counts = {"healthy": 0, "warning": 0, "critical": 0}
    for per_check in report.summary.values():  # the rows counted by check and status, derived from results
        for status, n in per_check.items():
            counts[status] += n
    row_count = report.row_count
    head = {
        "id": report_id, "model": event.model, "contract": report.contract,
        "contract_version": report.contract_version, "source": event.source, "pod": event.pod,
        "monitor": event.monitor, "time": time, "window_start": report.window_start,
        "window_end": report.window_end, "created_at": report.created_at, "stored_at": stored_at,
        "partial": report.partial, "status": report.status.value,
        "rows_expected": row_count["expected"], "rows_actual": row_count["actual"],
        "rows_change": row_count["change"], **counts,
    }
    encoding, data = encode_body(report, raw)
    body = {"id": report_id, "encoding": encoding, "body": data}
    by_check: dict[str, dict[str, list[Any]]] = {}
    for (check, feature), row in worst_by_series(report.results).items():
        by_check.setdefault(check, {})[feature] = [row.value, row.status]  # orjson writes a StrEnum's value
    values = [
        {"report_id": report_id, "check_name": check, "model": event.model, "contract": report.contract,
         "time": time, "by_column": orjson.dumps(columns)}
        for check, columns in by_check.items()
    ]
    return head, body, values


def header_fields(row: Any) -> dict[str, Any]:
    """The fields of a :class:`~sidecar.store.base.ReportHeader` from a row of :data:`HEADER_COLUMNS`."""
    return dict(
        id=row.id, model=row.model, contract=row.contract, contract_version=row.contract_version,
        source=row.source, pod=row.pod, monitor=row.monitor, time=row.time, window_start=row.window_start,
        window_end=row.window_end, created_at=row.created_at, partial=bool(row.partial), status=row.status,
        row_count={"expected": row.rows_expected, "actual": row.rows_actual, "change": row.rows_change},
        counts={"healthy": row.healthy, "warning": row.warning, "critical": row.critical},
    )


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (a naive one is taken as UTC, as the event schemas say)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def column_key(column: str | None) -> str:
    """The stored column of a series: the column, or ``"*"`` (:data:`TABLE_FEATURE`) for table-level checks,
    the feature label the metrics and alerts use too."""
    return TABLE_FEATURE if column is None else column
