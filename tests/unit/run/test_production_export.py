"""The sidecar exports ``model_health_production_metric`` for the series batch code tracks in its store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from sidecar import DataContract, track_production_metrics
from sidecar.config import Settings
from sidecar.demo.data import churn_frame
from sidecar.metrics import ModelMetrics
from sidecar.run import PRODUCTION, create_app
from sidecar.run.production_exporter import ProductionMetricExporter
from sidecar.store import StoreDirectory

pytestmark = pytest.mark.timeout(60)

DAY = datetime(2026, 1, 15, tzinfo=UTC)


def _settings(tmp_path: Path, refresh_seconds: float = 30.0) -> Settings:
    DataContract("churn_inputs", churn_frame(600, seed=1)).save(tmp_path / "contracts")
    return Settings(
        model="churn",
        kafka={"bootstrap_servers": "127.0.0.1:1", "retry_backoff_seconds": 0.2},  # nothing listens there
        inputs={"topic": "churn.inputs", "contract": str(tmp_path / "contracts" / "churn_inputs")},
        ingest={"worker_process": False},
        store={"path": str(tmp_path / "store"), "production_metrics_refresh_seconds": refresh_seconds},
    )


async def _production(client: TestClient) -> dict[tuple[str, str], float]:
    text = await (await client.get("/metrics")).text()
    assert "_created" not in text
    return {(s.labels["model"], s.labels["metric"]): s.value for fam in text_string_to_metric_families(text)
            if fam.name == "model_health_production_metric" for s in fam.samples}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    settings = _settings(tmp_path)
    # Batch code, before the sidecar starts, with the sidecar's settings.
    track_production_metrics("accuracy", {"2026-01-14": 0.9, "2026-01-15": 0.93}, settings=settings)
    track_production_metrics("accuracy", {"2026-01-16": 0.5}, model="fraud", settings=settings)  # another model
    async with TestClient(TestServer(create_app(settings))) as c:
        yield c


async def test_metrics_show_the_latest_value_of_each_series_of_the_model(client: TestClient) -> None:
    assert await _production(client) == {("churn", "accuracy"): 0.93}
    store = client.server.app[PRODUCTION].store
    track_production_metrics("roc_auc", {DAY: 0.81}, model="churn", store=store.path)
    track_production_metrics("accuracy", {"2026-01-16": 0.88}, model="churn", store=store.path)
    assert await client.server.app[PRODUCTION].refresh() == {"accuracy": 0.88, "roc_auc": 0.81}
    assert await _production(client) == {("churn", "accuracy"): 0.88, ("churn", "roc_auc"): 0.81}


async def _until(condition: Callable[[], bool], deadline_seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + deadline_seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.02)


async def test_the_timer_picks_up_new_points(tmp_path: Path) -> None:
    store = StoreDirectory(tmp_path / "store")
    metrics = ModelMetrics("churn")

    def exported() -> float | None:
        return metrics.registry.get_sample_value("model_health_production_metric",
                                                 {"model": "churn", "metric": "accuracy"})

    async with ProductionMetricExporter(store, metrics, interval_seconds=0.05) as exporter:
        assert exported() is None  # nothing tracked yet, nothing exported
        track_production_metrics("accuracy", {DAY: 0.77}, model="churn", store=store.path)
        await _until(lambda: exported() == 0.77)
        await exporter.stop()
        await exporter.stop()  # twice is fine


async def test_an_unreadable_database_keeps_the_last_values_and_logs_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = StoreDirectory(tmp_path / "store")
    metrics = ModelMetrics("churn")
    track_production_metrics("accuracy", {DAY: 0.9}, model="churn", store=store.path)
    exporter = ProductionMetricExporter(store, metrics, interval_seconds=3600)
    assert await exporter.refresh() == {"accuracy": 0.9}
    store.production_metrics_path.write_bytes(b"not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="sidecar.run.production_exporter"):
        assert await exporter.refresh() is None
        assert await exporter.refresh() is None
    assert len([r for r in caplog.records if "could not read production metrics" in r.getMessage()]) == 1
    assert metrics.registry.get_sample_value("model_health_production_metric",
                                             {"model": "churn", "metric": "accuracy"}) == 0.9
    store.production_metrics_path.unlink()
    track_production_metrics("accuracy", {DAY: 0.6}, model="churn", store=store.path)
    assert await exporter.refresh() == {"accuracy": 0.6}


async def test_an_unexpected_error_in_the_loop_is_logged_at_once(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    store = StoreDirectory(tmp_path / "store")
    exporter = ProductionMetricExporter(store, ModelMetrics("churn"), interval_seconds=0.01)

    def broken() -> dict[str, float]:
        raise RuntimeError("a bug")

    async with exporter:
        task = exporter._task
        assert task is not None
        with caplog.at_level(logging.ERROR, logger="sidecar.run.production_exporter"):
            exporter._read = broken  # type: ignore[method-assign]
            await asyncio.wait({task}, timeout=10)
            assert task.done() and isinstance(task.exception(), RuntimeError)
        (record,) = [r for r in caplog.records if "production metric export stopped" in r.getMessage()]
        assert record.exc_info is not None and "a bug" in str(record.exc_info[1])
