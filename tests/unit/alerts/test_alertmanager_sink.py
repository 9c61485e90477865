"""The Alertmanager sink against a local HTTP server: payload, retry with backoff, resend, endsAt, no blocking."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from sidecar.alerts.alertmanager import AlertmanagerSink, alertmanager_alert
from sidecar.alerts.events import AlertTracker
from sidecar.report.model import CheckResult, ValidationReport

pytestmark = pytest.mark.timeout(30)


class Receiver:
    """Records every POST to /api/v2/alerts; answers 503 ``fail`` times first."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.posts: list[list[dict[str, Any]]] = []
        self.attempts = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.fail > 0:
            self.fail -= 1
            return web.Response(status=503, text="not now")
        self.posts.append(await request.json())
        return web.json_response({})


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/api/v2/alerts", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield rec, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def _events(*statuses: str) -> list[Any]:
    t = AlertTracker("churn")
    out = []
    for s in statuses:
        row = CheckResult(check="distribution", column="age", status=s, value=0.3, warning=0.1, critical=0.2)
        out += t.observe(ValidationReport(contract="churn_inputs", results=[row]))
    return out


async def _until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_alert_payload_labels_and_ends_at() -> None:
    firing, resolved = _events("critical", "healthy")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    a = alertmanager_alert(firing, resend_seconds=60, now=now)
    assert a["labels"] == {"alertname": "ModelHealthDistribution", "severity": "critical", "model": "churn",
                           "contract": "churn_inputs", "check": "distribution", "feature": "age", "source": "sidecar"}
    assert a["annotations"]["value"] == "0.3" and a["annotations"]["threshold"] == "0.2"
    assert a["endsAt"] == "2026-01-01T00:04:00+00:00"  # four resends ahead: a dead sidecar's alerts expire
    r = alertmanager_alert(resolved, resend_seconds=60, now=now)
    assert r["endsAt"] == now.isoformat() and r["labels"]["severity"] == "critical"


async def test_firing_is_posted_resent_and_resolved(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    counts: dict[str, int] = {}
    sink = AlertmanagerSink(url, resend_seconds=0.3, count=lambda r, n: counts.__setitem__(r, counts.get(r, 0) + n))
    firing, resolved = _events("warning", "healthy")
    await sink.start()
    try:
        sink.submit(firing)
        await _until(lambda: len(rec.posts) >= 3)  # first post, then re-sent while firing
        assert all(p[0]["labels"]["severity"] == "warning" for p in rec.posts)
        sink.submit(resolved)
        await _until(lambda: any(datetime.fromisoformat(p[0]["endsAt"]) <= datetime.now(UTC) for p in rec.posts))
        n = len(rec.posts)
        await asyncio.sleep(0.8)  # past two resend intervals: a resolved alert is not re-sent
        assert len(rec.posts) == n
    finally:
        await sink.stop()
    assert counts["sent"] >= 4 and "failed" not in counts


async def test_unavailable_alertmanager_is_retried_and_counted(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    rec.fail = 3
    counts: dict[str, int] = {}
    sink = AlertmanagerSink(url, resend_seconds=60, count=lambda r, n: counts.__setitem__(r, counts.get(r, 0) + n))
    sink._backoff.first = 0.05  # keep the test short; the backoff itself is doctested
    await sink.start()
    try:
        sink.submit(_events("critical")[0])
        await _until(lambda: len(rec.posts) == 1)
    finally:
        await sink.stop()
    assert rec.attempts == 4 and counts == {"failed": 3, "sent": 1} and sink.pending == 0


async def test_unreachable_alertmanager_never_blocks_submit() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    counts: dict[str, int] = {}
    sink = AlertmanagerSink(f"http://127.0.0.1:{port}", resend_seconds=60, give_up_seconds=0.2,
                            count=lambda r, n: counts.__setitem__(r, counts.get(r, 0) + n))
    sink._backoff.first = 0.05
    await sink.start()
    try:
        # submit is a plain function: it records and wakes the sender, it cannot wait on the network.
        assert not asyncio.iscoroutinefunction(sink.submit)
        for event in _events("critical", "healthy") * 50:
            sink.submit(event)
        assert sink.pending == 1  # one series: the newest state replaces the older
        await _until(lambda: counts.get("dropped", 0) == 1)  # the undeliverable recovery is given up, counted
        assert counts["failed"] >= 1 and sink.pending == 0
    finally:
        await sink.stop()


async def test_a_change_of_severity_ends_the_old_alert(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    sink = AlertmanagerSink(url, resend_seconds=60, count=lambda r, n: None)
    warning, critical, healthy = _events("warning", "critical", "healthy")
    await sink.start()
    try:
        sink.submit(warning)
        await _until(lambda: len(rec.posts) == 1)
        sink.submit(critical)
        await _until(lambda: len(rec.posts) == 2)
        sink.submit(healthy)
        await _until(lambda: len(rec.posts) == 3)
    finally:
        await sink.stop()

    def state(post: list[dict[str, Any]]) -> set[tuple[str, bool]]:
        return {(a["labels"]["severity"], datetime.fromisoformat(a["endsAt"]) <= datetime.now(UTC)) for a in post}

    assert state(rec.posts[0]) == {("warning", False)}
    assert state(rec.posts[1]) == {("warning", True), ("critical", False)}  # warning ended, critical starts
    assert state(rec.posts[2]) == {("critical", True)}
