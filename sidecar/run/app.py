"""``create_app(settings)``: the sidecar's aiohttp application.

Routes: ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz`` (the sidecar's own loop and HTTP server,
never Kafka: a broker outage must not take the model pod out of service), ``POST /v1/events`` and
``GET /api/v1/status``. The :class:`SidecarService` and the :class:`ProductionMetricExporter` live in the
app's ``cleanup_ctx``, so they start and stop with the server; both use the one store directory of
``settings.store``. State sits under typed ``web.AppKey``s, and the Prometheus registry is the app's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sidecar.alerts import AlertNotifier
from sidecar.config import Settings
from sidecar.metrics import SidecarMetrics
from sidecar.run.events import handle_events
from sidecar.run.production_exporter import ProductionMetricExporter
from sidecar.store.directory import StoreDirectory
from sidecar.stream.service import SidecarService

__all__ = ["METRICS", "PRODUCTION", "SERVICE", "SETTINGS", "create_app"]

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", SidecarMetrics)
SERVICE = web.AppKey("service", SidecarService)
PRODUCTION = web.AppKey("production", ProductionMetricExporter)
ALERTS = web.AppKey("alerts", AlertNotifier)


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _healthz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    if not service.alive:
        return web.json_response({"status": "down", "reason": "sidecar loop is not running"}, status=503)
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    body = {"status": "ready" if service.alive else "starting", "kafka_connected": service.connected,
            "streams": sorted(service.streams)}
    return web.json_response(body, status=200 if service.alive else 503)


async def _events(request: web.Request) -> web.Response:
    return await handle_events(request, request.app[SERVICE])


async def _status(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    streams = []
    for topic, s in service.streams.items():
        last = service.last_reports.get(topic)
        streams.append({
            "topic": topic,
            "role": s.role,
            "contract": s.contract.name,
            "contract_version": s.contract.version,
            "open_windows": [{"start": w.start, "end": w.end, "rows": w.rows}
                             for w in service.open_windows.get(topic, [])],
            "last_report": None if last is None else {
                "window_start": last.window_start.isoformat() if last.window_start else None,
                "window_end": last.window_end.isoformat() if last.window_end else None,
                "status": last.status.value, "rows": last.row_count["actual"], "summary": last.summary,
                "partial": last.partial,
                "findings": [{"check": r.check, "column": r.column, "status": r.status.value, "value": r.value}
                             for r in sorted(last.results, key=lambda r: (-r.status.severity, -(r.value or 0)))
                             if r.status.severity > 0]},
        })
    return web.json_response({"model": service.settings.model, "kafka_connected": service.connected,
                              "streams": streams})


def create_app(settings: Settings, service: SidecarService | None = None) -> web.Application:
    """Build the app for ``settings``. A ``service`` may be passed in (tests); by default one is created."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[SETTINGS] = settings
    metrics = service.metrics if service is not None else SidecarMetrics(settings.model)
    app[METRICS] = metrics
    metrics.model_level.init_sla(settings.sla)
    store = StoreDirectory(settings.store.path)
    app[SERVICE] = service if service is not None else SidecarService(settings, metrics, store.reports)
    app[PRODUCTION] = ProductionMetricExporter(store, metrics.model_level,
                                               settings.store.production_metrics_refresh_seconds)

    app[ALERTS] = AlertNotifier(settings, metrics.model_level)
    app[SERVICE].listeners.append(app[ALERTS].on_report)

    async def alerts(app: web.Application) -> AsyncIterator[None]:
        # Started before the service and stopped after it, so the last (partial) windows' events go out.
        await app[ALERTS].start()
        yield
        await app[ALERTS].stop()

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await app[SERVICE].start()
        yield
        await app[SERVICE].stop()

    async def production(app: web.Application) -> AsyncIterator[None]:
        await app[PRODUCTION].start()
        yield
        await app[PRODUCTION].stop()

    app.cleanup_ctx.append(alerts)
    app.cleanup_ctx.append(lifecycle)
    app.cleanup_ctx.append(production)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_post("/v1/events", _events)
    app.router.add_get("/api/v1/status", _status)
    return app
