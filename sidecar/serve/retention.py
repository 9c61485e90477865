"""Retention: every ``retention.interval_seconds`` (an hour), delete the reports older than ``retention.days``.

The store deletes in batches of ``retention.batch``, each its own transaction, so a long backlog (the first
run over a year of history) never holds the writer for long and ingest's writes go in between. A failed
run (the database unreachable) is logged and counted, and the next one comes at the next interval; the
service never dies of it. The clock is injected, so tests need not wait a day.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType

from sidecar.config.serve import RetentionSettings
from sidecar.serve.metrics import ServeMetrics
from sidecar.store.base import ControlStore

__all__ = ["RetentionService"]

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class RetentionService:
    """Deletes old reports from ``store`` on a schedule; ``start()``/``stop()`` or ``async with``.

    Parameters
    ----------
    store
        The control store (started by its owner before this service).
    settings
        ``days`` (``None``: the service does nothing), ``interval_seconds`` and ``batch``.
    metrics
        Where deletions and failures are counted.
    clock
        The current time (UTC); the cutoff is ``clock() - days``.
    """

    def __init__(self, store: ControlStore, settings: RetentionSettings, metrics: ServeMetrics, *,
                 clock: Callable[[], datetime] = _now) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.runs = 0
        self._task: asyncio.Task[None] | None = None
        self._ran = asyncio.Event()

    @property
    def enabled(self) -> bool:
        """Whether retention deletes anything (``days`` is set)."""
        return self.settings.days is not None

    async def run_once(self) -> int:
        """Delete every report older than the cutoff now; how many were deleted."""
        assert self.settings.days is not None
        cutoff = self.clock() - timedelta(days=self.settings.days)
        deleted = await self.store.delete_reports_before(cutoff, batch=self.settings.batch)
        self.metrics.retention_deleted.inc(deleted)
        if deleted:
            log.info("retention: deleted %d reports older than %s", deleted, cutoff.isoformat())
        return deleted

    async def wait_run(self, runs: int) -> None:
        """Return once at least ``runs`` runs (successful or not) have finished (tests)."""
        while self.runs < runs:
            self._ran.clear()
            await self._ran.wait()

    async def start(self) -> None:
        """Start the schedule: a first run now, then one every ``interval_seconds``."""
        if self._task is None and self.enabled:
            self._task = asyncio.create_task(self._loop(), name="serve-retention")

    async def stop(self) -> None:
        """Cancel the schedule and wait for it (a batch in flight is rolled back); safe to call twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})  # the task's cancellation ends here; a cancellation of stop() propagates

    async def __aenter__(self) -> RetentionService:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                self.metrics.retention_failures.inc()
                log.exception("retention run failed; the next one is in %.0fs", self.settings.interval_seconds)
            self.runs += 1
            self._ran.set()
            await asyncio.sleep(self.settings.interval_seconds)
