"""The control room's REST API under ``/api/v1`` (DESIGN.md section 8), one module per resource.

:data:`ROUTES` is the table of every endpoint with the scope it needs; :func:`add_api_routes` adds them to
an app and registers each scope with :func:`sidecar.serve.auth.protect`, so a route cannot exist without
its scope being decided. ``schemas/openapi.yaml`` describes the same table (a test checks that each
documented operation is a route here and each route is documented, with the same scope) and is served at
``/api/v1/openapi.json``. Monitors and the fleet view join the table in their own issues.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NamedTuple

from aiohttp import web

from sidecar.serve.api.contracts import get_contract, list_contracts
from sidecar.serve.api.metrics import get_metric_points, post_metric_points
from sidecar.serve.api.models import get_models, get_series
from sidecar.serve.api.reports import get_report, list_reports, post_report
from sidecar.serve.auth import protect
from sidecar.serve.keys import OPENAPI
from sidecar.store.base import Scope

__all__ = ["API_PREFIX", "ROUTES", "Route", "add_api_routes"]

#: Where the API lives.
API_PREFIX = "/api/v1"


class Route(NamedTuple):
    """One endpoint: method, path under :data:`API_PREFIX`, handler, scope and (optional) route name."""

    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    scope: Scope
    name: str | None = None


ROUTES: tuple[Route, ...] = (
    Route("POST", "/reports", post_report, "write"),
    Route("GET", "/reports", list_reports, "read"),
    Route("GET", "/reports/{id}", get_report, "read", "report"),
    Route("GET", "/models", get_models, "read"),
    Route("GET", "/series", get_series, "read"),
    Route("GET", "/metrics", get_metric_points, "read"),
    Route("POST", "/metrics", post_metric_points, "write"),
    Route("GET", "/contracts", list_contracts, "read"),
    Route("GET", "/contracts/{name}", get_contract, "read"),
)


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


def add_api_routes(app: web.Application) -> None:
    """Add every route of :data:`ROUTES` with its scope, and the public ``GET /openapi.json``."""
    for route in ROUTES:
        added = app.router.add_route(route.method, API_PREFIX + route.path, route.handler, name=route.name)
        protect(app, added, route.scope)
    app.router.add_route("GET", API_PREFIX + "/openapi.json", _openapi)
