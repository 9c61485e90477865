"""``sidecar serve``: run the control room until SIGTERM/SIGINT, then shut down in order.

On a signal the listening socket closes first (no new connections), requests in flight get up to
``http.shutdown_timeout_seconds`` to finish, then the ``cleanup_ctx`` unwinds: the Kafka ingest stops
(committing what it stored), retention stops, the store closes. The process then exits 0. "In flight" is
aiohttp's meaning: a request whose body has arrived finishes and is answered; aiohttp stops reading from
its connections at shutdown, so a body still being uploaded is cut off (its client sees the connection
close without an answer and, like any client of a restarting server, sends it again). A store that
cannot be opened at start (unreachable, or written by a newer schema) ends the command with one line
naming the store, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from sidecar.config.serve import ServeSettings
from sidecar.errors import CliError, SidecarError
from sidecar.serve.app import create_app
from sidecar.store.base import ControlStore

__all__ = ["run", "serve", "store_label"]

log = logging.getLogger(__name__)


def store_label(url: str) -> str:
    """``url`` with any password hidden, for logs and errors.

    >>> store_label("postgresql+asyncpg://mh:secret@db:5432/control")
    'postgresql+asyncpg://mh:***@db:5432/control'
    """
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show only its scheme
        return url.split("://", 1)[0] + "://..."


async def serve(settings: ServeSettings, stop: asyncio.Event | None = None, *,
                started: asyncio.Future[str] | None = None, store: ControlStore | None = None) -> None:
    """Serve until ``stop`` is set or SIGTERM/SIGINT arrives.

    ``started`` (tests) receives the base URL once the socket listens; ``store`` replaces the one
    ``settings.store.url`` names.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await _serve(settings, stop, started, store)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopped")


async def _serve(settings: ServeSettings, stop: asyncio.Event, started: asyncio.Future[str] | None,
                 store: ControlStore | None) -> None:
    app = create_app(settings, store=store)
    runner = web.AppRunner(app, handle_signals=False, access_log=None,
                           shutdown_timeout=settings.http.shutdown_timeout_seconds)
    try:
        await runner.setup()  # opens and migrates the store through cleanup_ctx
    except SidecarError:
        raise
    except Exception as exc:
        raise CliError(f"cannot start: the store at {store_label(settings.store.url)} did not open: "
                       f"{type(exc).__name__}: {exc}") from exc
    try:
        site = web.TCPSite(runner, settings.http.host, settings.http.port)
        await site.start()
        host, port = runner.addresses[0][:2]  # the bound port, also when http.port is 0
        url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        log.info("control room serving on %s (API at /api/v1, store %s)", url, store_label(settings.store.url))
        if started is not None:
            started.set_result(url)
        await stop.wait()
        log.info("shutting down: draining requests in flight (up to %.0fs), then ingest and the store",
                 settings.http.shutdown_timeout_seconds)
    finally:
        await runner.cleanup()


def run(settings: ServeSettings) -> int:
    """Blocking entry point for the CLI: 0 after a requested shutdown."""
    asyncio.run(serve(settings))
    return 0
