"""Where the :class:`~sidecar.stream.engine.StreamEngine` runs: in this process, or in an ingest worker.

The sidecar's event loop fetches from Kafka; decoding and profiling are CPU-bound. In one process they
take turns on one core, so end-to-end throughput is about ``1 / (1/fetch + 1/ingest)``. With
:class:`ProcessIngest` the engine runs in a child process: the loop writes each ``getmany`` batch into a
shared-memory ring (one copy), sends a few bytes of framing through a socket, and goes back to fetching
while the worker ingests. Answers come back in request order, so the service applies them in order.

Both front-ends have the same interface: ``await submit(request)`` returns a future of the
:class:`~sidecar.stream.engine.Outcome`. :func:`make_ingest` chooses between them from ``ingest.worker_process``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any, Protocol, cast

from sidecar.config import Settings
from sidecar.contract import DataContract
from sidecar.errors import IngestWorkerDied
from sidecar.runtime import tune_gc, tune_malloc
from sidecar.stream.engine import Outcome, Request, StreamEngine
from sidecar.stream.ring import RingAllocator, SharedRing

__all__ = ["Ingest", "IngestWorkerDied", "LocalIngest", "ProcessIngest", "make_ingest"]

log = logging.getLogger(__name__)


class Ingest(Protocol):
    """A front-end to a :class:`StreamEngine`."""

    generation: int

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

    #: Never replaced (see :attr:`ProcessIngest.generation`).
    generation = 0

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

    def __init__(self, settings: Settings, contracts: dict[str, DataContract], ring_bytes: int = 32 << 20) -> None:
        self._settings = settings
        self._contracts = contracts
        self._ring_bytes = ring_bytes
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._ring: SharedRing | None = None
        self._alloc = RingAllocator(ring_bytes)
        self._pending: deque[tuple[asyncio.Future[Outcome], bool]] = deque()
        self._dead: str | None = None
        #: Bumped whenever a new worker starts: its windows start empty, so whoever fed the old one from
        #: Kafka must replay (the service compares this with the generation its windows were built on).
        self.generation = 0

    @property
    def restarts(self) -> int:
        """Workers started after the first one."""
        return max(self.generation - 1, 0)

    @property
    def pid(self) -> int | None:
        """The worker's process id."""
        return None if self._proc is None else int(self._proc.pid)

    async def start(self) -> None:
        if self._proc is None:
            self._spawn()

    def _spawn(self) -> None:
        # A fresh interpreter (``python -c`` calling :func:`main`), not fork: the parent has an event loop,
        # sockets and threads a forked child must not inherit; and not multiprocessing's spawn, which
        # re-imports the parent's main script and adds a resource-tracker process.
        parent, child = socket.socketpair()
        self._ring = SharedRing(self._ring_bytes)
        self._alloc = RingAllocator(self._ring_bytes)
        env = dict(os.environ)
        # The parent's import path, so contracts' custom checks (stored by import path) resolve the same.
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        with child:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", "import sys; from sidecar.stream.worker import main; sys.exit(main())",
                 str(child.fileno()), str(self._ring.fd), str(self._ring_bytes)],
                pass_fds=(child.fileno(), self._ring.fd),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        self._conn = Connection(parent.detach())
        self._conn.send((self._settings, self._contracts))
        self.generation += 1
        self._dead = None
        asyncio.get_running_loop().add_reader(self._conn.fileno(), self._on_readable)
        log.info("ingest worker started (pid %d)", self._proc.pid)

    def _ensure_worker(self) -> None:
        if self._dead is not None or self._proc is None:
            if self._proc is not None:
                self._close_transport()
                log.warning("restarting the ingest worker (%s)", self._dead)
            self._spawn()

    def submit_nowait(self, request: Request) -> asyncio.Future[Outcome]:
        self._ensure_worker()
        self._send(("inline", pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)))
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((future, False))
        return future

    async def submit(self, request: Request) -> asyncio.Future[Outcome]:
        self._ensure_worker()
        meta, buffers = _encode(request)
        size = len(meta) + sum(b.nbytes for b in buffers)
        start = self._alloc.take(size)
        while start is None and size <= self._ring_bytes and self._pending:
            # The ring is full: wait for the oldest request's answer, which releases its region.
            await asyncio.wait([self._pending[0][0]])
            if self._dead is not None:
                raise IngestWorkerDied(self._dead)
            start = self._alloc.take(size)
        conn, ring = self._conn, self._ring
        assert conn is not None and ring is not None
        if start is None:
            # Larger than the whole ring: rare; through the socket, in one piece.
            self._send(("inline", pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)))
        else:
            ring.write(start, meta)
            position = start + len(meta)
            for buffer in buffers:
                ring.write(position, buffer)
                position += buffer.nbytes
            self._send(("ring", start, len(meta), [b.nbytes for b in buffers]))
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((future, start is not None))
        return future

    def _send(self, message: tuple[Any, ...]) -> None:
        conn = self._conn
        assert conn is not None
        try:
            conn.send(message)
        except OSError as exc:  # the worker died before its end of the socket said so
            self._on_death(exc)
            raise IngestWorkerDied(self._dead or "ingest worker is gone") from exc

    def _on_readable(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            while conn.poll():
                message = conn.recv()  # EOFError once the worker is gone, even with nothing pending
                if not self._pending:
                    log.warning("ignoring an answer from the ingest worker to no request")
                    continue
                ok, payload = message
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
        if self._dead is not None:
            return  # noticed already (a failed send, then the end of the socket)
        proc = self._proc
        code = None
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = proc.wait(timeout=1.0)
        self._dead = f"ingest worker exited (exit code {code}; {type(exc).__name__})"
        log.error("%s; its open windows will be rebuilt from Kafka", self._dead)
        self._stop_reading()
        while self._pending:
            future, _ = self._pending.popleft()
            if not future.done():
                future.set_exception(IngestWorkerDied(self._dead))
        self._alloc.clear()

    def _stop_reading(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._conn.fileno())

    def _close_transport(self) -> None:
        self._stop_reading()
        if self._conn is not None:
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
            self._stop_reading()
            with contextlib.suppress(OSError):
                conn.send(("stop",))
        try:
            await asyncio.get_running_loop().run_in_executor(None, proc.wait, 5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(1.0)
        self._close_transport()
        self._proc = None


def make_ingest(settings: Settings, contracts: Mapping[str, DataContract]) -> Ingest:
    """The engine's front-end for ``settings.ingest``: a worker process when ``worker_process`` is true, or is
    ``auto`` and at least two CPUs are available (:meth:`~sidecar.config.IngestSettings.use_worker_process`);
    else the engine in this process."""
    ingest: Ingest
    if settings.ingest.use_worker_process():
        ingest = ProcessIngest(settings, dict(contracts), settings.ingest.ring_mib << 20)
    else:
        ingest = LocalIngest(settings, dict(contracts))
    logging.getLogger("sidecar.stream.service").info(  # the service's voice, as every line of its start
        "ingest: %s (ingest.worker_process: %s)",
        "worker process" if isinstance(ingest, ProcessIngest) else "in the main process",
        settings.ingest.worker_process)
    return ingest


#: Message values at least this large travel out of band: copied once into the ring and read there in
#: place, instead of being copied into the pickle, out of it into new ``bytes`` and paged in again.
LARGE_VALUE_BYTES = 64 * 1024


def _encode(request: Request) -> tuple[bytes, list[memoryview]]:
    """The request pickled, with large message values as out-of-band buffers."""
    buffers: list[memoryview] = []
    messages = request.messages
    if request.op == "ingest" and any(m.value is not None and len(m.value) >= LARGE_VALUE_BYTES for m in messages):
        request = replace(request, messages=[
            m._replace(value=cast(bytes, pickle.PickleBuffer(m.value)))
            if m.value is not None and len(m.value) >= LARGE_VALUE_BYTES else m
            for m in messages
        ])
    meta = pickle.dumps(request, protocol=5, buffer_callback=lambda b: buffers.append(b.raw()))
    return meta, buffers


def main(argv: list[str] | None = None) -> int:
    """The worker process (``main()`` with ``sys.argv[1:] = [SOCKET_FD, RING_FD, RING_BYTES]``).

    Answers requests until told to stop or the parent goes away.
    """
    sock_fd, ring_fd, ring_bytes = (int(a) for a in (argv if argv is not None else sys.argv[1:]))
    # Signals are the parent's business: it closes the windows and then stops this process. A Ctrl-C in a
    # terminal reaches the whole process group and must not kill the windows first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = Connection(sock_fd)
    try:
        settings, contracts = conn.recv()
    except (EOFError, OSError):
        return 0
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s[ingest]: %(message)s")
    tune_malloc()
    ring = SharedRing(ring_bytes, fd=ring_fd)
    engine = StreamEngine(settings, contracts)
    del contracts
    tune_gc()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return 0  # the parent is gone (even kill -9): nothing here outlives it
        if message[0] == "stop":
            return 0
        try:
            if message[0] == "ring":
                _, start, meta_size, sizes = message
                buffers = []
                position = start + meta_size
                for n in sizes:  # large message values, read in place (Arrow reads them without a copy)
                    buffers.append(ring.read(position, n))
                    position += n
                request = pickle.loads(ring.read(start, meta_size), buffers=buffers)
            else:
                request = pickle.loads(message[1])
            answer: tuple[bool, Any] = (True, engine.handle(request))
        except Exception as exc:
            log.exception("request failed")
            answer = (False, f"{type(exc).__name__}: {exc}")
        request = buffers = None  # type: ignore[assignment]  # nothing may point into the ring once answered
        try:
            conn.send(answer)
        except OSError:
            return 0


if __name__ == "__main__":
    sys.exit(main())
