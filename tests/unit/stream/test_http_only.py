"""A sidecar fed only over HTTP (KServe's payload logger, no reachable Kafka) closes its windows on idle,
and a full disk under the report store costs the report line, not the window."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sidecar import DataContract
from sidecar.config import Settings
from sidecar.decoders import RawMessage
from sidecar.demo.data import churn_frame
from sidecar.metrics import SidecarMetrics
from sidecar.store.reports import JsonlReportStore
from sidecar.stream.service import SidecarService

pytestmark = pytest.mark.timeout(60)


def _service(tmp_path: Path, reports: JsonlReportStore | None = None) -> SidecarService:
    contract = DataContract("churn_inputs", churn_frame(500, seed=1))
    settings = Settings(model="m", inputs={"topic": "t", "contract": "unused", "format": "flat"},
                        kafka={"bootstrap_servers": "127.0.0.1:9", "retry_backoff_seconds": 30},
                        window={"min_rows": 10, "idle_close_seconds": 1, "size_seconds": 3600},
                        ingest={"worker_process": False}, store={"path": str(tmp_path / "store")})
    return SidecarService(settings, SidecarMetrics("m"), reports=reports, contracts={"inputs": contract})


def _rows(n: int) -> list[RawMessage]:
    import orjson

    df = churn_frame(n, seed=4).astype({"signup_date": str})
    return [RawMessage(orjson.dumps({**row, "timestamp": 1_800_000_000 + i}), ())
            for i, row in enumerate(df.to_dict("records"))]


async def _wait(condition, what: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_http_fed_windows_close_on_idle_without_kafka(tmp_path: Path) -> None:
    service = _service(tmp_path, JsonlReportStore(tmp_path / "store"))
    async with service:
        result = await service.ingest_http(service.stream_for("inputs"), _rows(150))
        assert result.accepted_rows == 150
        await _wait(lambda: "t" in service.last_reports, "the idle window to close")
        report = service.last_reports["t"]
        assert report.row_count["actual"] == 150 and not report.partial
        assert not service.connected  # Kafka was never reachable


async def test_a_store_write_error_is_counted_not_a_replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reports = JsonlReportStore(tmp_path / "store")

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(reports, "append", full_disk)
    service = _service(tmp_path, reports)
    async with service:
        await service.ingest_http(service.stream_for("inputs"), _rows(60))
        await _wait(lambda: "t" in service.last_reports, "the idle window to close")
        assert service.metrics.model_level.store_errors.labels("m", "report")._value.get() == 1
        assert service.metrics.model_level.window_rows.labels("m", "churn_inputs")._value.get() == 60  # still published
        assert service.alive  # the loop goes on
