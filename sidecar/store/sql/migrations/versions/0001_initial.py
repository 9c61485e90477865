"""The control room's first schema: reports (headers, bodies, newest per contract, per-check values),
production metrics, tokens, monitors and their runs, fleet parts and windows.

Revision ID: 0001
Revises:
Create Date: 2026-05-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = 128  # longest report id
NAME = 200


def _time(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create every table and index."""
    op.create_table(
        "reports",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("model", sa.String(NAME), nullable=False),
        sa.Column("contract", sa.String(NAME), nullable=False),
        sa.Column("contract_version", sa.Integer()),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("pod", sa.String(253)),
        sa.Column("monitor", sa.String(NAME)),
        _time("time", nullable=False),
        _time("window_start"),
        _time("window_end"),
        _time("created_at", nullable=False),
        _time("stored_at", nullable=False),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows_expected", sa.BigInteger(), nullable=False),
        sa.Column("rows_actual", sa.BigInteger(), nullable=False),
        sa.Column("rows_change", sa.Float()),
        sa.Column("healthy", sa.Integer(), nullable=False),
        sa.Column("warning", sa.Integer(), nullable=False),
        sa.Column("critical", sa.Integer(), nullable=False),
    )
    op.create_index("ix_reports_time", "reports", ["time", "id"])
    op.create_index("ix_reports_model", "reports", ["model", "time", "id"])
    op.create_index("ix_reports_model_contract", "reports", ["model", "contract", "time", "id"])
    op.create_index("ix_reports_model_status", "reports", ["model", "status", "time", "id"])
    op.create_index("ix_reports_status", "reports", ["status", "time", "id"])
    op.create_index("ix_reports_source", "reports", ["source", "time", "id"])
    op.create_index("ix_reports_monitor", "reports", ["monitor", "time", "id"])

    op.create_table(
        "report_bodies",
        sa.Column("id", sa.String(ID), sa.ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("encoding", sa.String(16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "latest_reports",
        sa.Column("model", sa.String(NAME), primary_key=True),
        sa.Column("contract", sa.String(NAME), primary_key=True),
        sa.Column("report_id", sa.String(ID), nullable=False),
        _time("time", nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_table(
        "check_values",
        sa.Column("report_id", sa.String(ID), sa.ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("check_name", sa.String(NAME), primary_key=True),
        sa.Column("model", sa.String(NAME), nullable=False),
        sa.Column("contract", sa.String(NAME), nullable=False),
        _time("time", nullable=False),
        sa.Column("by_column", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_check_values_series", "check_values", ["model", "contract", "check_name", "time", "report_id"])

    op.create_table(
        "metric_points",
        sa.Column("model", sa.String(NAME), primary_key=True),
        sa.Column("metric", sa.String(NAME), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("time", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("value", sa.Float(), nullable=False),
    )
    op.create_table(
        "metric_series",
        sa.Column("model", sa.String(NAME), primary_key=True),
        sa.Column("metric", sa.String(NAME), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
    )

    op.create_table(
        "tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(NAME)),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        _time("created_at", nullable=False),
        _time("revoked_at"),
    )

    op.create_table(
        "monitors",
        sa.Column("name", sa.String(NAME), primary_key=True),
        sa.Column("model", sa.String(NAME), nullable=False),
        sa.Column("contract", sa.String(NAME), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("trigger", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        _time("next_run_at"),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
    )
    op.create_table(
        "monitor_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("monitor", sa.String(NAME), sa.ForeignKey("monitors.name", ondelete="CASCADE"), nullable=False),
        _time("scheduled_for"),
        _time("started_at", nullable=False),
        _time("finished_at"),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("rows", sa.BigInteger()),
        sa.Column("report_id", sa.String(ID)),
        sa.Column("error", sa.Text()),
        sa.Column("run_key", sa.String(255)),
        sa.UniqueConstraint("monitor", "run_key", name="uq_monitor_runs_key"),
    )
    op.create_index("ix_monitor_runs_history", "monitor_runs", ["monitor", "started_at", "run_id"])

    op.create_table(
        "fleet_parts",
        sa.Column("model", sa.String(NAME), primary_key=True),
        sa.Column("contract", sa.String(NAME), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("pod", sa.String(253), primary_key=True),
        sa.Column("epoch", sa.BigInteger(), primary_key=True),
        _time("window_end", nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("encoding", sa.String(16), nullable=False),
        sa.Column("profile", sa.LargeBinary(), nullable=False),
        _time("received_at", nullable=False),
    )
    op.create_table(
        "fleet_windows",
        sa.Column("model", sa.String(NAME), primary_key=True),
        sa.Column("contract", sa.String(NAME), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
        _time("window_end", nullable=False),
        sa.Column("pods", sa.JSON(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.String(ID)),
        sa.Column("late_parts", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    """Drop everything (children first)."""
    for table in ("fleet_windows", "fleet_parts", "monitor_runs", "monitors", "tokens", "metric_series",
                  "metric_points", "check_values", "latest_reports", "report_bodies", "reports"):
        op.drop_table(table)
