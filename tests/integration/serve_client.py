"""The control room in-process on a loopback port with its real SQL store, and a client with one token per scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from sidecar.config.serve import ServeSettings
from sidecar.report.event import ReportEvent
from sidecar.report.model import CheckResult, ValidationReport
from sidecar.serve import STORE, create_app
from sidecar.store.base import ControlStore

__all__ = ["T0", "Api", "control_room", "report_event"]

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Api:
    """A running control room: its client, store and a token of each scope."""

    client: TestClient
    store: ControlStore
    tokens: dict[str, str]

    def auth(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}

    async def post(self, path: str, body: Any, scope: str = "write") -> tuple[int, Any]:
        resp = await self.client.post("/api/v1" + path, json=body, headers=self.auth(scope))
        return resp.status, await resp.json()

    async def get(self, path: str, scope: str = "read", **params: Any) -> tuple[int, Any]:
        resp = await self.client.get("/api/v1" + path, params=params, headers=self.auth(scope))
        return resp.status, await resp.json()


@asynccontextmanager
async def control_room(**settings: Any) -> AsyncIterator[Api]:
    """``create_app(ServeSettings(**settings))`` served on 127.0.0.1 and a free port; stopped on exit."""
    app = create_app(ServeSettings(**{"retention": {"days": None}, **settings}))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        store = app[STORE]
        tokens = {scope: (await store.create_token(scope, f"test-{scope}"))[0] for scope in ("read", "write", "admin")}
        yield Api(client, store, tokens)


def report_event(i: int, *, model: str = "churn", contract: str = "churn_inputs", status: str = "healthy",
                 source: str = "window", pod: str | None = "churn-0", monitor: str | None = None,
                 minutes: int = 5) -> ReportEvent:
    """The ``i``-th window (``minutes`` long from :data:`T0`) of ``model`` with one row of ``status``."""
    start = T0 + timedelta(minutes=minutes * i)
    report = ValidationReport(
        contract=contract, contract_version=1, window_start=start, window_end=start + timedelta(minutes=minutes),
        row_count={"expected": 1000, "actual": 1000 + i, "change": i / 1000},
        results=[CheckResult(check="distribution", column="age", status=status, value=0.01 * i, warning=0.1,
                             critical=0.2, details={"p_value": 0.5, "noise": 0.02}),
                 CheckResult(check="row_count", column=None, status="healthy", value=i / 1000)])
    return ReportEvent(model=model, source=source, pod=pod, monitor=monitor, report=report)  # type: ignore[arg-type]
