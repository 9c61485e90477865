"""The control room's tables as SQLAlchemy Core objects: what queries are written against.

The schema itself is made only by the Alembic revisions in ``migrations/versions``; these objects must
describe the same tables, and a test compares the two (``alembic`` autogenerate finds no difference on
either backend). Names are plain (``check_name``, not ``check``) so a person at ``psql`` needs no quoting.

Times are :class:`UtcDateTime`: ``timestamptz`` on PostgreSQL, and on SQLite SQLAlchemy's fixed-width text
(``2026-01-01 00:05:00.000000``, always with microseconds), which sorts as the times do, so the same index
serves the keyset order on both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "ID_LENGTH",
    "UtcDateTime",
    "check_values",
    "fleet_parts",
    "fleet_windows",
    "latest_reports",
    "metadata",
    "metric_points",
    "metric_series",
    "monitor_runs",
    "monitors",
    "report_bodies",
    "reports",
    "tokens",
]

#: Longest report id (``sidecar.report.event.ID_PATTERN``).
ID_LENGTH = 128
NAME = 200  # model, contract, metric, monitor names (the event's limits)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in, an aware UTC datetime out, on every backend.

    SQLite keeps no zone (SQLAlchemy drops it), so a value is converted to UTC before it is written and
    read back as UTC; a naive value is taken as UTC, as the event schemas say.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC) if dialect.name != "sqlite" else value
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

# -- reports: a header row per report (what listings read), its body apart (what a detail reads) ------------
reports = Table(
    "reports", metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("model", String(NAME), nullable=False),
    Column("contract", String(NAME), nullable=False),
    Column("contract_version", Integer),
    Column("source", String(16), nullable=False),
    Column("pod", String(253)),
    Column("monitor", String(NAME)),
    Column("time", UtcDateTime, nullable=False),  # window end, else created_at: the listing's order
    Column("window_start", UtcDateTime),
    Column("window_end", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
    Column("partial", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("rows_expected", BigInteger, nullable=False),
    Column("rows_actual", BigInteger, nullable=False),
    Column("rows_change", Float),
    Column("healthy", Integer, nullable=False),
    Column("warning", Integer, nullable=False),
    Column("critical", Integer, nullable=False),
    # One index per filter the listing offers, each ending in the keyset order, so a filtered page is an
    # index range scan that stops after ``limit`` rows whatever the history's length.
    Index("ix_reports_time", "time", "id"),
    Index("ix_reports_model", "model", "time", "id"),
    Index("ix_reports_model_contract", "model", "contract", "time", "id"),
    Index("ix_reports_model_status", "model", "status", "time", "id"),
    Index("ix_reports_status", "status", "time", "id"),
    Index("ix_reports_source", "source", "time", "id"),
    Index("ix_reports_monitor", "monitor", "time", "id"),
)

report_bodies = Table(
    "report_bodies", metadata,
    Column("id", String(ID_LENGTH), ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
    Column("encoding", String(16), nullable=False),  # "zlib+json": room for another codec without a migration
    Column("body", LargeBinary, nullable=False),
)

# The newest report of each (model, contract), kept on every write so ``GET /models`` reads one row per pair
# instead of grouping the whole history.
latest_reports = Table(
    "latest_reports", metadata,
    Column("model", String(NAME), primary_key=True),
    Column("contract", String(NAME), primary_key=True),
    Column("report_id", String(ID_LENGTH), nullable=False),
    Column("time", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
)

# Per-check values for series: one row per (report, check) holding the check's value and status on every
# column, ``{"column": [value, status], ...}`` (orjson; ``"*"`` for table level). One row per check rather than
# per (check, column) keeps ingest at one row per check (a 68-feature report writes 6 rows, not 273, and
# 100k reports 0.6M rows, not 27M), while a series still reads one index range, ``LIMIT`` rows long.
check_values = Table(
    "check_values", metadata,
    Column("report_id", String(ID_LENGTH), ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
    Column("check_name", String(NAME), primary_key=True),
    Column("model", String(NAME), nullable=False),
    Column("contract", String(NAME), nullable=False),
    Column("time", UtcDateTime, nullable=False),
    Column("by_column", LargeBinary, nullable=False),
    Index("ix_check_values_series", "model", "contract", "check_name", "time", "report_id"),
)

# -- production metrics -------------------------------------------------------------------------------------
metric_points = Table(
    "metric_points", metadata,
    Column("model", String(NAME), primary_key=True),
    Column("metric", String(NAME), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("time", UtcDateTime, primary_key=True),
    Column("value", Float, nullable=False),
)

# The series that exist, so listing a model's metrics never scans its points.
metric_series = Table(
    "metric_series", metadata,
    Column("model", String(NAME), primary_key=True),
    Column("metric", String(NAME), primary_key=True),
    Column("kind", String(16), primary_key=True),
)

# -- tokens: a salted hash of the secret, never the secret --------------------------------------------------
tokens = Table(
    "tokens", metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(NAME)),
    Column("scope", String(16), nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

# -- monitors and their runs (the scheduler's issue) ---------------------------------------------------------
monitors = Table(
    "monitors", metadata,
    Column("name", String(NAME), primary_key=True),
    Column("model", String(NAME), nullable=False),
    Column("contract", String(NAME), nullable=False),
    Column("data", Text, nullable=False),
    Column("trigger", JSON, nullable=False),  # {"cron", "timezone"} or {"new_data": {"poll_seconds"}}
    Column("paused", Boolean, nullable=False),
    Column("next_run_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

monitor_runs = Table(
    "monitor_runs", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("monitor", String(NAME), ForeignKey("monitors.name", ondelete="CASCADE"), nullable=False),
    Column("scheduled_for", UtcDateTime),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("trigger", String(16), nullable=False),  # cron | new_data | manual
    Column("status", String(16), nullable=False),  # running | succeeded | failed
    Column("files", JSON, nullable=False),
    Column("rows", BigInteger),
    Column("report_id", String(ID_LENGTH)),
    Column("error", Text),
    # A new-data run's key (its file's path, size and mtime): unique, so a file is never run twice, not even
    # by two schedulers racing or after a restart. NULL for cron and manual runs (NULLs never collide).
    Column("run_key", String(255)),
    UniqueConstraint("monitor", "run_key", name="uq_monitor_runs_key"),
    Index("ix_monitor_runs_history", "monitor", "started_at", "run_id"),
)

# -- the fleet view (the fleet issue): per-pod window profiles and the merged verdict per window -------------
fleet_parts = Table(
    "fleet_parts", metadata,
    Column("model", String(NAME), primary_key=True),
    Column("contract", String(NAME), primary_key=True),
    Column("window_start", UtcDateTime, primary_key=True),
    Column("pod", String(253), primary_key=True),
    Column("epoch", BigInteger, primary_key=True),
    Column("window_end", UtcDateTime, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("encoding", String(16), nullable=False),
    Column("profile", LargeBinary, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

fleet_windows = Table(
    "fleet_windows", metadata,
    Column("model", String(NAME), primary_key=True),
    Column("contract", String(NAME), primary_key=True),
    Column("window_start", UtcDateTime, primary_key=True),
    Column("window_end", UtcDateTime, nullable=False),
    Column("pods", JSON, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("report_id", String(ID_LENGTH)),
    Column("late_parts", Integer, nullable=False),
)
