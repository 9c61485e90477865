"""Tokens and scopes on every route of the real app and store: a missing, malformed, unknown, revoked or too weak
token is refused (401/403), the right one and every stronger one accepted; anonymous reads only when configured;
no CORS header unless configured."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from serve_client import Api, control_room, report_event

from sidecar.serve.api import API_PREFIX, ROUTES
from sidecar.store.base import SCOPE_RANK

pytestmark = pytest.mark.timeout(120)

EVENT = report_event(0)
METRIC = {"model": "churn", "metric": "accuracy", "points": [{"time": "2026-03-01T00:00:00Z", "value": 0.9}]}


class Call(NamedTuple):
    """A request that the route answers with ``ok`` given a strong enough token."""

    method: str
    path: str
    params: dict[str, str]
    body: Any
    ok: tuple[int, ...]


#: One valid request per route, keyed like :data:`sidecar.serve.api.ROUTES` (a test checks none is missing).
CALLS: dict[tuple[str, str], Call] = {
    ("POST", "/reports"): Call("POST", "/reports", {}, json.loads(EVENT.model_dump_json()), (200, 201)),
    ("GET", "/reports"): Call("GET", "/reports", {"model": "churn"}, None, (200,)),
    ("GET", "/reports/{id}"): Call("GET", f"/reports/{EVENT.report_id()}", {}, None, (200,)),
    ("GET", "/models"): Call("GET", "/models", {}, None, (200,)),
    ("GET", "/series"): Call("GET", "/series", {"model": "churn", "contract": "churn_inputs", "check": "row_count"},
                             None, (200,)),
    ("GET", "/metrics"): Call("GET", "/metrics", {"model": "churn"}, None, (200,)),
    ("POST", "/metrics"): Call("POST", "/metrics", {}, METRIC, (200,)),
    ("GET", "/contracts"): Call("GET", "/contracts", {}, None, (200,)),
    ("GET", "/contracts/{name}"): Call("GET", "/contracts/churn_inputs", {}, None, (404,)),  # none saved: 404 past auth
}
SCOPE = {(r.method, r.path): r.scope for r in ROUTES}
SCOPES = sorted(SCOPE_RANK, key=SCOPE_RANK.__getitem__)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with control_room(store={"url": f"sqlite:///{tmp_path}/control.sqlite"},
                            contracts={"path": str(tmp_path / "contracts")}) as running:
        await running.store.put_reports([EVENT])
        yield running


async def send(api: Api, call: Call, headers: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
    resp = await api.client.request(call.method, API_PREFIX + call.path, params=call.params, json=call.body,
                                    headers=headers)
    return resp.status, await resp.json(), dict(resp.headers)


def test_every_route_has_a_call_here() -> None:
    assert set(CALLS) == set(SCOPE)


async def test_the_apps_routes_are_the_table(api: Api) -> None:
    app = api.client.server.app
    assert app is not None
    routed = {(r.method, r.resource.canonical.removeprefix(API_PREFIX)) for r in app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith(API_PREFIX) and r.method != "HEAD"}
    assert routed == set(SCOPE) | {("GET", "/openapi.json")}


@pytest.mark.parametrize("route", sorted(CALLS), ids=lambda r: f"{r[0]} {r[1]}")
async def test_every_route_refuses_missing_wrong_and_weak_tokens(api: Api, route: tuple[str, str]) -> None:
    call, needed = CALLS[route], SCOPE[route]
    status, answer, headers = await send(api, call, {})
    assert (status, answer["field"]) == (401, None) and headers["WWW-Authenticate"].startswith("Bearer")
    assert f"scope {needed}" in answer["error"]
    read_id = api.tokens["read"].split("_")[1]
    for wrong in ("Bearer", "Basic dXNlcjpwdw==", f"Token {api.tokens['admin']}", "Bearer not-a-token",
                  f"Bearer mhs_{read_id}_{'A' * 43}", "Bearer mhs_0123456789abcdef_" + "B" * 43,
                  "Bearer " + "x" * 5000, f"Bearer {api.tokens['admin']}x"):
        status, answer, _ = await send(api, call, {"Authorization": wrong})
        assert status == 401, (wrong, answer)
    for scope in SCOPES:
        status, answer, _ = await send(api, call, api.auth(scope))
        if SCOPE_RANK[scope] < SCOPE_RANK[needed]:
            assert status == 403 and f"needs a token of scope {needed}" in answer["error"], answer
        else:
            assert status in call.ok, (scope, answer)


async def test_a_revoked_token_is_refused_at_once(api: Api) -> None:
    token, info = await api.store.create_token("admin", "leaving")
    call = CALLS[("GET", "/models")]
    assert (await send(api, call, {"Authorization": f"Bearer {token}"}))[0] == 200
    assert await api.store.revoke_token(info.id)
    status, answer, _ = await send(api, call, {"Authorization": f"Bearer {token}"})
    assert (status, answer["error"]) == (401, "unknown or revoked token")


async def test_public_routes_need_no_token(api: Api) -> None:
    for path in ("/healthz", "/readyz", "/metrics", f"{API_PREFIX}/openapi.json"):
        resp = await api.client.get(path)
        assert resp.status == 200, path


async def test_a_write_needs_write_even_when_reads_are_anonymous(tmp_path: Path) -> None:
    async with control_room(store={"url": f"sqlite:///{tmp_path}/control.sqlite"},
                            contracts={"path": str(tmp_path / "contracts")}, auth={"anonymous_read": True}) as api:
        await api.store.put_reports([EVENT])
        for route, call in CALLS.items():
            status, _, _ = await send(api, call, {})
            if SCOPE[route] == "read":
                assert status in call.ok, route
            else:
                assert status == 401, route
                assert (await send(api, call, api.auth("read")))[0] == 403
        # A wrong token is still refused: the client wants to know.
        status, _, _ = await send(api, CALLS[("GET", "/models")], {"Authorization": "Bearer nope"})
        assert status == 401


async def test_no_cors_headers_unless_configured(api: Api) -> None:
    origin = {"Origin": "https://evil.example.com"}
    resp = await api.client.get(f"{API_PREFIX}/models", headers={**origin, **api.auth("read")})
    assert resp.status == 200 and not [h for h in resp.headers if h.lower().startswith("access-control-")]
    preflight = await api.client.options(f"{API_PREFIX}/reports", headers={
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    assert preflight.status == 405
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")]


async def test_cors_for_the_configured_origins_only(tmp_path: Path) -> None:
    allowed = "https://grafana.example.com"
    async with control_room(store={"url": f"sqlite:///{tmp_path}/control.sqlite"},
                            auth={"cors_origins": [allowed]}) as api:
        preflight = await api.client.options(f"{API_PREFIX}/reports", headers={
            "Origin": allowed, "Access-Control-Request-Method": "POST"})
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == allowed
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
        assert "Access-Control-Allow-Credentials" not in preflight.headers
        resp = await api.client.get(f"{API_PREFIX}/models", headers={"Origin": allowed})
        assert resp.status == 401 and resp.headers["Access-Control-Allow-Origin"] == allowed  # errors readable too
        other = await api.client.get(f"{API_PREFIX}/models", headers={"Origin": "https://evil.example.com",
                                                                      **api.auth("read")})
        assert other.status == 200 and "Access-Control-Allow-Origin" not in other.headers
