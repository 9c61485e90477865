"""The sidecar's export of production metrics: the store's series as ``model_health_production_metric``.

Batch code records series with ``track_production_metrics`` into ``<store.path>/production-metrics.sqlite``;
this service re-reads the newest point of each of the model's series every
``store.production_metrics_refresh_seconds`` and sets the gauge. The read runs in a thread (SQLite may
wait on a writer's lock), and a failed read keeps the last exported values and is logged once until a
read succeeds again.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from sidecar.metrics import ModelMetrics
from sidecar.store.directory import StoreDirectory

__all__ = ["ProductionMetricExporter"]

log = logging.getLogger(__name__)


class ProductionMetricExporter:
    """Keeps ``model_health_production_metric`` equal to the newest point of each of the model's series.

    An async service: ``start()`` reads once, then every ``interval_seconds`` until ``stop()`` (idempotent);
    also an async context manager. :meth:`refresh` reads on demand.
    """

    def __init__(self, store: StoreDirectory, metrics: ModelMetrics, interval_seconds: float) -> None:
        self.store = store
        self.metrics = metrics
        self.interval_seconds = interval_seconds
        self._task: asyncio.Task[None] | None = None
        self._failing: str | None = None  # the last read error, logged once

    async def start(self) -> None:
        """Export what the store holds now, then keep it current in the background."""
        if self._task is None:
            await self.refresh()
            self._task = asyncio.create_task(self._run(), name=f"production-metrics-{self.metrics.model}")
            self._task.add_done_callback(_log_unexpected_end)

    async def stop(self) -> None:
        """Stop refreshing (the gauges keep their values). Safe to call twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})  # the task's cancellation ends here; a cancellation of stop() propagates

    async def __aenter__(self) -> ProductionMetricExporter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def refresh(self) -> dict[str, float] | None:
        """Read the store and set the gauges; returns ``{metric: value}``, or ``None`` if the read failed."""
        try:
            latest = await asyncio.to_thread(self._read)
        except (sqlite3.Error, OSError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
            if problem != self._failing:
                log.warning("could not read production metrics from %s (%s); exporting the last values read",
                            self.store.production_metrics_path, problem)
                self._failing = problem
            return None
        if self._failing is not None:
            log.info("production metrics readable again from %s", self.store.production_metrics_path)
            self._failing = None
        self.metrics.set_production(latest)
        return latest

    def _read(self) -> dict[str, float]:
        if not self.store.production_metrics_path.exists():
            return {}
        with self.store.production_metrics() as db:
            return {metric: value for metric, (_, value) in db.latest(self.metrics.model).items()}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_seconds)
            await self.refresh()


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    """The refresh loop ends only by cancellation; anything else is a bug, logged with its traceback at once."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("production metric export stopped; the gauges keep their last values", exc_info=error)
