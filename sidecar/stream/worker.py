"""Where the :class:`~sidecar.stream.engine.StreamEngine` runs: in this process, or in an ingest worker.

The sidecar's event loop fetches from Kafka; decoding and profiling are CPU-bound. In one process they
take turns on one core, so end-to-end throughput is about ``1 / (1/fetch + 1/ingest)``. With
:class:`ProcessIngest` the engine runs in a child process: the loop writes each ``getmany`` batch into a
shared-memory ring (one copy), sends a few bytes of framing through a socket, and goes back to fetching
while the worker ingests. Answers come back in request order, so the service applies them in order.

Both front-ends have the same interface: ``await submit(request)`` returns a future of the
:class:`~sidecar.stream.engine.Outcome`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import pickle
import signal
from collections import deque
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import Any, Protocol

from sidecar.config import Settings
from sidecar.contract import DataContract
from sidecar.stream.engine import Outcome, Request, StreamEngine
from sidecar.stream.ring import RingAllocator, SharedRing

__all__ = ["Ingest", "IngestWorkerDied", "LocalIngest", "ProcessIngest"]

log = logging.getLogger(__name__)


class IngestWorkerDied(OSError):
    """The ingest worker process is gone; its open windows are lost and must be replayed from Kafka."""


class Ingest(Protocol):
    """A front-end to a :class:`StreamEngine`."""

    async def start(self) -> None:
        """Make the engine ready (may return before a worker has finished starting)."""

    async def submit(self, request: Request) -> asyncio.Future[Outcome]:
        """Queue ``request``; the future resolves to its outcome. Requests are handled in submission order."""
        ...

    def submit_nowait(self, request: Request) -> asyncio.Future[Outcome]:
        """Queue a small control request without yielding to the event loop (keeps callers atomic)."""
        ...

    async def stop(self) -> None:
        """Release the engine (after every submitted request was answered)."""


class LocalIngest:
    """The engine in this process: every request is handled at once, on the event loop."""

    def __init__(self, settings: Settings, contracts: dict[str, DataContract]) -> None:
        self.engine = StreamEngine(settings, contracts)

    async def start(self) -> None:
        return None

    async def submit(self, request: Request) -> asyncio.Future[Outcome]:
        return self.submit_nowait(request)

    def submit_nowait(self, request: Request) -> asyncio.Future[Outcome]:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        try:
            future.set_result(self.engine.handle(request))
        except Exception as exc:
            future.set_exception(exc)
        return future

    async def stop(self) -> None:
        return None


class ProcessIngest:
    """The engine in a child process fed through a shared-memory ring.

    Parameters
    ----------
    settings, contracts : what the worker's engine is built from (sent to it pickled)
    ring_bytes : size of the shared ring; a request larger than this goes through the socket instead
    """

    def __init__(self, settings: Settings, contracts: dict[str, DataContract], ring_bytes: int = 64 << 20) -> None:
        self._settings = settings
        self._contracts = contracts
        self._ring_bytes = ring_bytes
        self._proc: Any = None
        self._conn: Connection | None = None
        self._ring: SharedRing | None = None
        self._alloc = RingAllocator(ring_bytes)
        self._pending: deque[tuple[asyncio.Future[Outcome], bool]] = deque()
        self._dead: str | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """The worker's process id."""
        return None if self._proc is None else int(self._proc.pid)

    async def start(self) -> None:
        if self._proc is None:
            self._spawn()

    def _spawn(self) -> None:
        # spawn, not fork: the parent has an event loop, sockets and threads a forked child must not inherit.
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        self._ring = SharedRing(self._ring_bytes)
        self._alloc = RingAllocator(self._ring_bytes)
        self._proc = ctx.Process(
            target=_worker_main,
            args=(child, self._ring_bytes, self._settings, self._contracts),
            name=f"model-health-ingest-{self._settings.model}",
            daemon=True,
        )
        self._proc.start()
        child.close()
        reduction.send_handle(parent, self._ring.fd, self._proc.pid)
        self._conn = parent
        self._dead = None
        asyncio.get_running_loop().add_reader(parent.fileno(), self._on_readable)
        log.info("ingest worker started (pid %d)", self._proc.pid)

    def _ensure_worker(self) -> None:
        if self._dead is not None or self._proc is None:
            if self._proc is not None:
                self._close_transport()
                self.restarts += 1
                log.warning("restarting the ingest worker (%s)", self._dead)
            self._spawn()

    def submit_nowait(self, request: Request) -> asyncio.Future[Outcome]:
        self._ensure_worker()
        assert self._conn is not None
        self._conn.send(("inline", pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)))
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((future, False))
        return future

    async def submit(self, request: Request) -> asyncio.Future[Outcome]:
        self._ensure_worker()
        payload = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        start = self._alloc.take(len(payload))
        while start is None and len(payload) <= self._ring_bytes and self._pending:
            # The ring is full: wait for the oldest request's answer, which releases its region.
            await asyncio.wait([self._pending[0][0]])
            if self._dead is not None:
                raise IngestWorkerDied(self._dead)
            start = self._alloc.take(len(payload))
        conn, ring = self._conn, self._ring
        assert conn is not None and ring is not None
        if start is None:
            conn.send(("inline", payload))  # larger than the whole ring: rare, and may block a moment
        else:
            ring.write(start, payload)
            conn.send(("ring", start, len(payload)))
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((future, start is not None))
        return future

    def _on_readable(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            while conn.poll():
                ok, payload = conn.recv()
                future, in_ring = self._pending.popleft()
                if in_ring:
                    self._alloc.release()
                if future.done():
                    continue
                if ok:
                    future.set_result(payload)
                else:
                    future.set_exception(RuntimeError(f"ingest worker: {payload}"))
        except (EOFError, OSError) as exc:
            self._on_death(exc)

    def _on_death(self, exc: BaseException) -> None:
        proc = self._proc
        if proc is not None:
            proc.join(timeout=1.0)
        code = None if proc is None else proc.exitcode
        self._dead = f"ingest worker exited (exit code {code}; {type(exc).__name__})"
        log.error("%s; its open windows will be rebuilt from Kafka", self._dead)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._conn.fileno())
        while self._pending:
            future, _ = self._pending.popleft()
            if not future.done():
                future.set_exception(IngestWorkerDied(self._dead))
        self._alloc.clear()

    def _close_transport(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._conn.fileno())
            self._conn.close()
            self._conn = None
        if self._ring is not None:
            self._ring.close()
            self._ring = None

    async def stop(self) -> None:
        proc, conn = self._proc, self._conn
        if proc is None:
            return
        if conn is not None and self._dead is None:
            with contextlib.suppress(OSError):
                conn.send(("stop",))
        await asyncio.get_running_loop().run_in_executor(None, proc.join, 5.0)
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)
        self._close_transport()
        self._proc = None


def _worker_main(conn: Connection, ring_bytes: int, settings: Settings, contracts: dict[str, DataContract]) -> None:
    """The worker process: answer requests until told to stop or the parent goes away."""
    # Signals are the parent's business: it closes the windows and then stops this process. A Ctrl-C in a
    # terminal reaches the whole process group and must not kill the windows first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s[ingest]: %(message)s")
    ring = SharedRing(ring_bytes, fd=reduction.recv_handle(conn))
    engine = StreamEngine(settings, contracts)
    del contracts
    # The same collector tuning as the main process (see sidecar.runner): long-lived state frozen, few
    # generation-0 collections while batches allocate their short-lived objects.
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone (even kill -9): nothing here outlives it
        if message[0] == "stop":
            return
        payload = ring.read(message[1], message[2]) if message[0] == "ring" else message[1]
        try:
            request = pickle.loads(payload)
            answer: tuple[bool, Any] = (True, engine.handle(request))
        except Exception as exc:
            log.exception("request failed")
            answer = (False, f"{type(exc).__name__}: {exc}")
        finally:
            if isinstance(payload, memoryview):
                payload.release()
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return
