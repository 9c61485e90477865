"""``sidecar run``: serve the app until SIGTERM/SIGINT, then shut down within the grace period."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from sidecar.api import create_app
from sidecar.config import Settings
from sidecar.memory import tune_gc

__all__ = ["run", "serve"]

log = logging.getLogger(__name__)

#: Kubernetes' default grace period is 30 s; we aim well inside the 10 s the issue asks for.
SHUTDOWN_TIMEOUT_SECONDS = 8.0


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set or a SIGTERM/SIGINT arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=2.0, access_log=None)
    await runner.setup()  # starts the service through cleanup_ctx
    tune_gc()
    site = web.TCPSite(runner, settings.http.host, settings.http.port)
    await site.start()
    log.info("sidecar for model %s serving on http://%s:%d (metrics at /metrics)", settings.model,
             settings.http.host, settings.http.port)
    try:
        await stop.wait()
        log.info("shutting down: closing open windows as partial, committing")
    finally:
        try:
            await asyncio.wait_for(runner.cleanup(), timeout=SHUTDOWN_TIMEOUT_SECONDS)
        except TimeoutError:
            log.error("shutdown took longer than %.0fs; exiting anyway", SHUTDOWN_TIMEOUT_SECONDS)


def run(settings: Settings) -> int:
    """Blocking entry point for the CLI."""
    asyncio.run(serve(settings))
    return 0
