"""The app around the API: health, readiness, its own metrics (promtool-clean), security headers, and a request
the HTTP parser refuses logged as one INFO line, not an ERROR traceback. A real SQLite store."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from tools import required_tool

from sidecar.config import ServeSettings
from sidecar.serve import INGEST, RETENTION, STORE, create_app
from sidecar.serve.noise import install_request_noise_filter

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    app = create_app(ServeSettings(store={"url": f"sqlite:///{tmp_path}/control.sqlite"}))
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        yield c


async def test_health_and_readiness(client: TestClient) -> None:
    assert await (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert (ready.status, await ready.json()) == (200, {"status": "ready", "store": "ok", "kafka_ingest": False})


async def test_readiness_fails_when_the_store_does_not_answer(client: TestClient) -> None:
    app = client.server.app
    assert app is not None
    await app[STORE].stop()  # the database is gone
    ready = await client.get("/readyz")
    assert ready.status == 503 and (await ready.json())["status"] == "unavailable"
    assert (await client.get("/healthz")).status == 200  # the process itself is fine


async def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    await client.get("/api/v1/reports/abc")
    await client.get("/api/v1/reports/def")
    await client.get("/no/such/path")
    text = await (await client.get("/metrics")).text()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    key = ("model_health_serve_http_requests_total",
           (("method", "GET"), ("route", "/api/v1/reports/{id}"), ("status", "401")))
    assert samples[key] == 2
    unmatched = ("model_health_serve_http_requests_total", (("method", "GET"), ("route", "unmatched"),
                                                            ("status", "404")))
    assert samples[unmatched] == 1
    assert not any("fleet" in name for name, _ in samples)
    assert not any(name.endswith("_created") for name, _ in samples)


async def test_metrics_pass_promtool(client: TestClient) -> None:
    await client.get("/healthz")
    text = await (await client.get("/metrics")).text()
    done = subprocess.run([required_tool("promtool"), "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


async def test_api_answers_carry_no_sniff_and_no_store(client: TestClient) -> None:
    resp = await client.get("/api/v1/models")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")


async def test_an_unparsable_request_is_one_info_line(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    install_request_noise_filter().throttle.reset()  # the process's one filter: no earlier test's lines count
    server = client.server
    for _ in range(3):
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n")
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        assert status.split()[1] == b"400"
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(records) == 1, [r.getMessage() for r in records]  # one per kind per minute
    assert records[0].levelno == logging.INFO and records[0].exc_info is None
    assert "refused a malformed request with 400: BadHttpMessage" in records[0].getMessage()


def test_without_kafka_there_is_no_ingest_and_retention_is_owned(tmp_path: Path) -> None:
    app = create_app(ServeSettings(store={"url": f"sqlite:///{tmp_path}/c.sqlite"}))
    assert INGEST not in app and app[RETENTION].enabled


def test_with_kafka_the_ingest_is_in_the_app(tmp_path: Path) -> None:
    app = create_app(ServeSettings(store={"url": f"sqlite:///{tmp_path}/c.sqlite"},
                                   kafka={"bootstrap_servers": "127.0.0.1:1"}))
    from sidecar.serve.ingest import IngestService

    assert isinstance(app[INGEST], IngestService)
