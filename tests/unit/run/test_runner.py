"""``sidecar run`` ends loudly when its loop dies: traceback logged, /healthz down, exit code 1."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import aiohttp
import pytest

from sidecar import DataContract
from sidecar.config import Settings
from sidecar.demo.data import churn_frame
from sidecar.errors import SidecarCrashed
from sidecar.run.runner import run, serve
from sidecar.stream.service import SidecarService

pytestmark = pytest.mark.timeout(60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(tmp_path: Path, port: int = 0) -> Settings:
    path = DataContract("churn_inputs", churn_frame(500, seed=1)).save(tmp_path / "contracts")
    return Settings(model="m", inputs={"topic": "t", "contract": str(path)}, ingest={"worker_process": False},
                    http={"host": "127.0.0.1", "port": port}, kafka={"bootstrap_servers": "127.0.0.1:9"},
                    store={"path": str(tmp_path / "store")})


async def test_an_unexpected_error_in_the_loop_ends_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()
    port = _free_port()

    async def broken_connect(self: SidecarService) -> None:
        await release.wait()  # let the test see the healthy server first
        raise ZeroDivisionError("a bug, not a Kafka fault")

    monkeypatch.setattr(SidecarService, "_connect", broken_connect)
    task = asyncio.create_task(serve(_settings(tmp_path, port)))
    url = f"http://127.0.0.1:{port}/healthz"
    async with aiohttp.ClientSession() as session:
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                pass
            assert asyncio.get_running_loop().time() < deadline, "the server never came up"
            await asyncio.sleep(0.05)
    with caplog.at_level(logging.CRITICAL, logger="sidecar.run.runner"):
        release.set()
        with pytest.raises(SidecarCrashed, match="ZeroDivisionError"):
            await asyncio.wait_for(task, timeout=30)
    crash = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert crash and crash[0].exc_info is not None and "a bug" in str(crash[0].exc_info[1])


async def test_the_loop_gone_means_healthz_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken_connect(self: SidecarService) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(SidecarService, "_connect", broken_connect)
    from sidecar.metrics import SidecarMetrics

    settings = _settings(tmp_path)
    service = SidecarService(settings, SidecarMetrics("m"))
    await service.start()
    failure = await asyncio.wait_for(service.wait_ended(), timeout=10)
    assert isinstance(failure, ZeroDivisionError) and not service.alive
    await service.stop()  # still shuts down cleanly, twice
    await service.stop()


def test_run_returns_1_after_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken_connect(self: SidecarService) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(SidecarService, "_connect", broken_connect)
    assert run(_settings(tmp_path)) == 1


async def test_a_requested_stop_is_not_a_crash(tmp_path: Path) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(_settings(tmp_path), stop))
    await asyncio.sleep(0)  # let it start; the loop retries the unreachable broker meanwhile
    stop.set()
    assert await asyncio.wait_for(task, timeout=30) is None
