"""Every refusal has the shape ``{"error", "field"}``; an unexpected exception is a logged 500, never a crash."""

from __future__ import annotations

import json
import logging
import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, Field, ValidationError

from sidecar.serve.errors import api_error, error_middleware, validation_error

pytestmark = pytest.mark.timeout(30)


class Body(BaseModel):
    name: str
    points: list[int] = Field(min_length=1)


def test_api_error_carries_status_message_field_and_headers() -> None:
    exc = api_error(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
    assert (exc.status, exc.content_type, exc.headers["WWW-Authenticate"]) == (401, "application/json", "Bearer")
    assert json.loads(exc.text or "") == {"error": "unknown token", "field": None}
    assert api_error(413, "too big").status == 413


def test_validation_error_names_the_first_field_with_its_dotted_path() -> None:
    with pytest.raises(ValidationError) as info:
        Body.model_validate({"name": "x", "points": [1, "two", 3, "four"]})
    body = json.loads(validation_error(info.value).text or "")
    assert body["field"] == "points.1"
    assert body["error"].startswith("points.1: Input should be a valid integer") and "points.3" in body["error"]


async def _boom(request: web.Request) -> web.Response:
    raise RuntimeError("secret detail")


async def _refuse(request: web.Request) -> web.Response:
    raise api_error(409, "taken", "name")


@pytest.fixture
async def client() -> TestClient:
    app = web.Application(middlewares=[error_middleware], client_max_size=1024)
    app.router.add_get("/boom", _boom)
    app.router.add_get("/refuse", _refuse)

    async def read(request: web.Request) -> web.Response:
        return web.json_response({"n": len(await request.read())})

    app.router.add_post("/read", read)
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        yield c


async def test_an_unexpected_exception_is_a_500_with_an_incident_id_in_the_log(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="sidecar.serve.errors")
    resp = await client.get("/boom")
    body = await resp.json()
    assert resp.status == 500 and body["field"] is None and "secret detail" not in body["error"]
    incident = re.search(r"incident ([0-9a-f]{12})", body["error"])
    assert incident is not None
    [record] = [r for r in caplog.records if incident.group(1) in r.getMessage()]
    assert record.exc_info is not None and "secret detail" in str(record.exc_info[1])
    assert (await client.get("/refuse")).status == 409  # and the server still answers


@pytest.mark.parametrize(("method", "path", "status", "message"), [
    ("GET", "/nope", 404, "no such resource: /nope"),
    ("DELETE", "/refuse", 405, "method DELETE is not allowed on /refuse"),
])
async def test_aiohttps_own_refusals_take_the_shape(client: TestClient, method: str, path: str, status: int,
                                                    message: str) -> None:
    resp = await client.request(method, path)
    assert resp.status == status and resp.content_type == "application/json"
    assert await resp.json() == {"error": message, "field": None}


async def test_client_max_size_is_a_json_413(client: TestClient) -> None:
    resp = await client.post("/read", data=b"x" * 2048)
    assert resp.status == 413
    assert await resp.json() == {"error": "request body larger than 1024 bytes", "field": None}


async def test_a_handlers_own_refusal_passes_through(client: TestClient) -> None:
    resp = await client.get("/refuse")
    assert (resp.status, await resp.json()) == (409, {"error": "taken", "field": "name"})
