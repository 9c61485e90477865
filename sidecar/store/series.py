"""Production metric series in SQLite: one row per (model, metric, time). A :class:`~sidecar.store.base.MetricStore`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

__all__ = ["BUSY_TIMEOUT_SECONDS", "SqliteMetricStore"]

#: How long a write waits for another writer's transaction before giving up.
BUSY_TIMEOUT_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS production_metric (
    model TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts REAL NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (model, metric, ts)
)
"""


class SqliteMetricStore:
    """A SQLite-backed series store; re-writing a point at the same time replaces it (idempotent backfills).

    The directory backend of :class:`~sidecar.store.base.MetricStore`, in ``production-metrics.sqlite``.
    """

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Several writers (batch jobs, the joiner) and the sidecar's reader share the file: WAL lets readers
        # run beside a writer, and a writer waits up to BUSY_TIMEOUT_SECONDS for another instead of failing.
        self._db = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def write(self, model: str, metric: str, points: Iterable[tuple[datetime, float]]) -> None:
        """Insert or replace points."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO production_metric VALUES (?, ?, ?, ?)",
                [(model, metric, t.timestamp(), v) for t, v in points],
            )

    def series(self, model: str, metric: str) -> list[tuple[datetime, float]]:
        """All points of one series, oldest first."""
        rows = self._db.execute(
            "SELECT ts, value FROM production_metric WHERE model = ? AND metric = ? ORDER BY ts", (model, metric)
        ).fetchall()
        return [(datetime.fromtimestamp(ts, tz=UTC), v) for ts, v in rows]

    def latest(self, model: str) -> dict[str, tuple[datetime, float]]:
        """The newest point of each of ``model``'s series: ``{metric: (time, value)}``."""
        rows = self._db.execute(
            "SELECT metric, ts, value FROM production_metric AS p WHERE model = ? AND ts = "
            "(SELECT MAX(ts) FROM production_metric WHERE model = p.model AND metric = p.metric) ORDER BY metric",
            (model,),
        ).fetchall()
        return {metric: (datetime.fromtimestamp(ts, tz=UTC), v) for metric, ts, v in rows}

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> SqliteMetricStore:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
