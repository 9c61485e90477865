"""``create_app(settings)``: the control room's aiohttp application.

Routes: ``/healthz`` (the process answers), ``/readyz`` (the store answers too), ``/metrics`` (the app's own
Prometheus registry) and the REST API under ``/api/v1`` (:mod:`sidecar.serve.api`) with its OpenAPI
document. State sits under the typed keys of :mod:`sidecar.serve.keys`; the lifecycles are in the app's
``cleanup_ctx``, in order: the store (started first, stopped last), retention, and the Kafka ingest when
``kafka`` is configured (:mod:`sidecar.serve.ingest`, stopped first, so what it took is committed while
the store is still open).

The middleware, outermost first: request metrics, CORS (only when ``auth.cors_origins`` is set), errors
(every refusal as ``{"error", "field"}``, an unexpected exception as a logged 500), tokens and scopes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import yaml
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sidecar.config.serve import ServeSettings
from sidecar.serve.api import API_PREFIX, add_api_routes
from sidecar.serve.auth import ROUTE_SCOPES, auth_middleware, cors_middleware
from sidecar.serve.contracts import ContractIndex
from sidecar.serve.errors import error_middleware
from sidecar.serve.keys import CONTRACTS, METRICS, OPENAPI, SETTINGS, STORE
from sidecar.serve.metrics import UNMATCHED_ROUTE, ServeMetrics
from sidecar.serve.noise import install_request_noise_filter
from sidecar.serve.retention import RetentionService
from sidecar.store.base import ControlStore, ReportQuery

__all__ = ["INGEST", "OPENAPI_PATH", "READY_TIMEOUT_SECONDS", "RETENTION", "Service", "create_app", "load_openapi"]

log = logging.getLogger(__name__)

#: The OpenAPI document the app serves: the package's copy of ``schemas/openapi.yaml`` (a test keeps the
#: two identical), so an installed package serves it too.
OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")
#: How long ``/readyz`` waits for the store.
READY_TIMEOUT_SECONDS = 2.0
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Service(Protocol):
    """A background service of the app: started and stopped by its ``cleanup_ctx``."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


#: The retention schedule.
RETENTION = web.AppKey("retention", RetentionService)
#: The Kafka ingest, when ``kafka`` is configured (absent otherwise).
INGEST = web.AppKey("ingest", Service)


def load_openapi(path: Path = OPENAPI_PATH) -> dict[str, Any]:
    """The OpenAPI document as a JSON-able dict."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(spec, dict) or "openapi" not in spec:
        raise ValueError(f"{path} is not an OpenAPI document")
    return spec


def create_app(settings: ServeSettings, *, store: ControlStore | None = None) -> web.Application:
    """Build the control room for ``settings``; ``store`` defaults to ``SqlStore(settings.store.url)``."""
    install_request_noise_filter()
    middlewares: list[Any] = [_measure]
    if settings.auth.cors_origins:
        middlewares.append(cors_middleware(settings.auth.cors_origins))
    middlewares += [error_middleware, auth_middleware(STORE, settings.auth.anonymous_read)]
    app = web.Application(client_max_size=settings.limits.max_body_bytes, middlewares=middlewares)
    if store is None:
        from sidecar.store.sql import SqlStore

        store = SqlStore(settings.store.url)
    app[SETTINGS] = settings
    app[STORE] = store
    app[METRICS] = ServeMetrics()
    app[CONTRACTS] = ContractIndex(settings.contracts.path)
    app[OPENAPI] = load_openapi()
    app[ROUTE_SCOPES] = {}
    app[RETENTION] = RetentionService(store, settings.retention, app[METRICS])
    ingest = _ingest_service(settings, store, app[METRICS])
    if ingest is not None:
        app[INGEST] = ingest
    app.cleanup_ctx.extend([_store_lifecycle, _retention_lifecycle, _ingest_lifecycle])
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    add_api_routes(app)
    return app


def _ingest_service(settings: ServeSettings, store: ControlStore, metrics: ServeMetrics) -> Service | None:
    """The Kafka ingest (:class:`sidecar.serve.ingest.IngestService`) when ``kafka`` is configured."""
    if settings.kafka is None:
        return None
    from sidecar.serve.ingest import IngestService  # aiokafka's consumer only where Kafka is configured

    return IngestService(settings, store, metrics=metrics)


# -- lifecycles ---------------------------------------------------------------------------------------------
async def _store_lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[STORE].start()
    yield
    await app[STORE].stop()


async def _retention_lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[RETENTION].start()
    yield
    await app[RETENTION].stop()


async def _ingest_lifecycle(app: web.Application) -> AsyncIterator[None]:
    ingest = app.get(INGEST)
    if ingest is not None:
        await ingest.start()
    yield
    if ingest is not None:
        await ingest.stop()


# -- public routes ------------------------------------------------------------------------------------------
async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(request.app[STORE].list_reports(ReportQuery(), limit=1), READY_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure to answer means "not ready", never a 500
        log.warning("readiness: the store did not answer: %s: %s", type(exc).__name__, exc)
        return web.json_response({"status": "unavailable", "store": f"unreachable ({type(exc).__name__})"},
                                 status=503)
    return web.json_response({"status": "ready", "store": "ok", "kafka_ingest": INGEST in request.app})


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


# -- cross-cutting ------------------------------------------------------------------------------------------
@web.middleware
async def _measure(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:  # redirects only: refusals are responses by now
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else UNMATCHED_ROUTE
        method = request.method if request.method in _METHODS else "other"
        request.app[METRICS].observe_request(route, method, status, time.perf_counter() - started)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    # JSON is never to be sniffed as HTML: a model named <script> stays text in every browser.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.path.startswith(API_PREFIX):
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
