"""Retention deletes reports older than ``retention.days`` in bounded batches, on its schedule, and survives a
failing store. A real SQLite store; the clock is injected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sidecar.config.serve import RetentionSettings
from sidecar.report.event import ReportEvent
from sidecar.report.model import ValidationReport
from sidecar.serve.metrics import ServeMetrics
from sidecar.serve.retention import RetentionService
from sidecar.store.base import ReportQuery
from sidecar.store.sql import SqlStore

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def event(days_old: float, i: int) -> ReportEvent:
    end = NOW - timedelta(days=days_old)
    return ReportEvent(id=f"r{i}", model="churn", source="window", pod="p",
                       report=ValidationReport(contract="c", window_start=end - timedelta(minutes=5), window_end=end))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    async with SqlStore(f"sqlite:///{tmp_path}/control.sqlite") as s:
        yield s


async def ids(store: SqlStore) -> set[str]:
    page = await store.list_reports(ReportQuery(), limit=500)
    return {h.id for h in page.items}


async def test_old_reports_go_and_recent_ones_stay(store: SqlStore) -> None:
    await store.put_reports([event(100, 0), event(91, 1), event(89, 2), event(1, 3)] +
                            [event(95, 10 + i) for i in range(7)])
    metrics = ServeMetrics()
    service = RetentionService(store, RetentionSettings(days=90, batch=3), metrics, clock=lambda: NOW)
    assert await service.run_once() == 9
    assert await ids(store) == {"r2", "r3"}
    assert metrics.registry.get_sample_value("model_health_serve_retention_deleted_reports_total") == 9


async def test_the_schedule_runs_at_start_and_every_interval(store: SqlStore) -> None:
    clock = [NOW]
    service = RetentionService(store, RetentionSettings(days=1, interval_seconds=0.05), ServeMetrics(),
                               clock=lambda: clock[0])
    await store.put_reports([event(0.5, 0)])
    async with service:
        await asyncio.wait_for(service.wait_run(1), 10)
        assert await ids(store) == {"r0"}
        clock[0] = NOW + timedelta(days=1)  # a day later the report is past retention
        runs = service.runs
        await asyncio.wait_for(service.wait_run(runs + 1), 10)
        assert await ids(store) == set()
    await service.stop()  # twice is fine


async def test_a_failing_store_is_counted_and_the_schedule_goes_on(store: SqlStore) -> None:
    metrics = ServeMetrics()
    calls = [0]
    real = store.delete_reports_before

    async def flaky(cutoff: datetime, *, batch: int = 1000) -> int:
        calls[0] += 1
        if calls[0] == 1:
            raise OSError("database unreachable")
        return await real(cutoff, batch=batch)

    store.delete_reports_before = flaky  # type: ignore[method-assign]
    await store.put_reports([event(10, 0)])
    service = RetentionService(store, RetentionSettings(days=1, interval_seconds=0.05), metrics, clock=lambda: NOW)
    async with service:
        await asyncio.wait_for(service.wait_run(2), 10)
    assert calls[0] >= 2 and await ids(store) == set()
    assert metrics.registry.get_sample_value("model_health_serve_retention_failures_total") == 1


async def test_no_days_means_no_task(store: SqlStore) -> None:
    service = RetentionService(store, RetentionSettings(days=None), ServeMetrics())
    await service.start()
    assert not service.enabled and service._task is None
    await service.stop()
