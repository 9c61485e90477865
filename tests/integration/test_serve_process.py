"""``sidecar serve`` as a process answers /healthz and exits 0 on SIGTERM; a store it cannot open ends it with one
line; and on SIGTERM (sent to the test's own process, handled by ``serve()``) a request in flight finishes and
is committed before the store closes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import pytest
from serve_proc import SIDECAR, ServeProcess, http_get

from sidecar.config.serve import ServeSettings
from sidecar.report.event import ReportEvent
from sidecar.report.model import ValidationReport
from sidecar.serve.runner import serve
from sidecar.store.sql import SqlStore

pytestmark = pytest.mark.timeout(120)


def settings(tmp_path: Path) -> dict[str, object]:
    return {"store": {"url": f"sqlite:///{tmp_path}/control.sqlite"}, "contracts": {"path": str(tmp_path)}}


def test_serve_answers_healthz_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path, settings(tmp_path)).start()
    try:
        status, body = http_get(server.url + "/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        status, body = http_get(server.url + "/readyz")
        assert status == 200 and json.loads(body)["store"] == "ok"
        server.terminate()
        assert server.wait() == 0, server.log()
        assert "stopped" in server.log() and "Traceback" not in server.log()
    finally:
        server.stop()


class GatedStore(SqlStore):
    """The real store, whose ``put_reports`` waits at a gate the test opens: a request held in flight."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def put_reports(self, events: Sequence[ReportEvent]) -> list[tuple[str, bool]]:
        self.entered.set()
        await self.release.wait()
        return await super().put_reports(events)


async def listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return False
    writer.close()
    return True


async def test_sigterm_lets_a_request_in_flight_finish(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/control.sqlite"
    store = GatedStore(url)
    settings = ServeSettings(store={"url": url}, http={"host": "127.0.0.1", "port": 0})
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve(settings, started=started, store=store))
    base = await asyncio.wait_for(started, 30)
    token, _ = await store.create_token("write")
    event = ReportEvent(id="in-flight", model="churn", report=ValidationReport(contract="c"))
    async with aiohttp.ClientSession() as session:
        post = asyncio.create_task(session.post(base + "/api/v1/reports", data=event.model_dump_json(),
                                                headers={"Authorization": f"Bearer {token}"}))
        await asyncio.wait_for(store.entered.wait(), 10)  # the handler is inside the store call
        os.kill(os.getpid(), signal.SIGTERM)  # serve()'s own handler: stop accepting, drain
        deadline = asyncio.get_running_loop().time() + 10
        while await listening(base):
            assert asyncio.get_running_loop().time() < deadline, "the listening socket did not close"
            await asyncio.sleep(0.02)
        assert not server.done() and not post.done()  # still draining the request in flight
        store.release.set()
        response = await asyncio.wait_for(post, 10)
        assert (response.status, await response.json()) == (201, {"id": "in-flight"})
    await asyncio.wait_for(server, 30)  # serve() returned: the process would exit 0
    async with SqlStore(url) as again:  # committed before the store closed
        assert (await again.get_report("in-flight")) is not None


def test_a_store_it_cannot_open_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "serve.yaml"
    config.write_text('store: {url: "postgresql+asyncpg://mh:hunter2@127.0.0.1:1/mh"}\n'
                      "http: {host: 127.0.0.1, port: 0}\n")
    done = subprocess.run([str(SIDECAR), "serve", "--config", str(config)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("sidecar: error:")]
    assert len(errors) == 1 and "cannot start" in errors[0] and "127.0.0.1:1" in errors[0], done.stderr
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr
