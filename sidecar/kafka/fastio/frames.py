"""Kafka responses received straight into their own buffers (half of ``kafka.fast_io``).

aiokafka reads every response through an ``asyncio.StreamReader``: each chunk from the socket is copied
into one growing ``bytearray``, the reader is paused and resumed every 128 KiB, and ``readexactly`` copies
the frame out again. For multi-megabyte fetch responses (Arrow batches) that is most of the sidecar's main
loop: py-spy put 58 % of it in those reads and copies.

Here the transport is a ``BufferedProtocol``: small responses are cut out of one reused staging buffer,
and a response larger than that is received into a buffer of its own, which the socket fills in place and
aiokafka's response parser then reads in place (:class:`FrameView`): the only copy Python makes of a
fetch response is the one aiokafka's parser takes of each partition's records. The buffer is reused for
the next large response, so its pages are not faulted in again. Request matching, response parsing, SASL,
idle checks and errors stay aiokafka's own code.

This replaces a private part of aiokafka (``AIOKafkaConnection.connect`` and its reader task) and leans on
asyncio's protocol internals (how ``StreamReaderProtocol`` feeds its reader, how the transports fill a
``BufferedProtocol``), so it is only used with the aiokafka release and on the Pythons it was written and
tested against (:mod:`.release` lists both and checks them); otherwise, or with ``kafka.fast_io: false``,
aiokafka's stock connection is used.
"""

from __future__ import annotations

import asyncio
import collections
import io
import time
import weakref
from typing import Any

import aiokafka.conn as _conn

from sidecar.errors import FrameError

from . import release

__all__ = ["FrameConnection", "FrameError", "FrameProtocol", "FrameReader", "FrameView", "install", "supported"]

STAGE_BYTES = 256 * 1024  # asyncio's own read size for plain sockets
#: The receive buffer of large frames is kept for the next one up to this size; a larger response (many
#: partitions in one fetch) gets a buffer that is dropped once parsed, so it is not held for good.
KEEP_BYTES = 16 * 1024 * 1024
_SIZE_BYTES = 4  # every Kafka response starts with its length as a big-endian int32


class FrameReader:
    """Cuts the byte stream into whole Kafka response frames; fed by :class:`FrameProtocol`.

    Offers the parts of ``asyncio.StreamReader`` that ``StreamReaderProtocol`` and ``StreamWriter`` use
    (``set_transport``, ``feed_eof``, ``set_exception``, ``exception``, ``at_eof``), plus ``read_frame``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._stage = bytearray(STAGE_BYTES)
        self._view = memoryview(self._stage)
        self._start = 0  # first byte of the stage not yet cut into a frame
        self._end = 0  # end of the bytes received into the stage
        # A frame larger than the stage is received into _big, which is reused (a fresh buffer per frame
        # costs a page fault per 4 KiB: slower than aiokafka's own copies) unless still lent out.
        self._big = bytearray()
        self._big_size = 0  # size of the frame being received into _big; 0 when none
        self._big_fill = 0
        self._lent: collections.deque[bytearray] = collections.deque()  # buffers of big frames not released
        self._frames: collections.deque[bytes | memoryview] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._eof = False
        self._exception: BaseException | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._source_traceback = None  # read by StreamReaderProtocol

    # -- what the protocol calls -----------------------------------------------------------------------
    def set_transport(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def get_buffer(self) -> memoryview:
        """Where the socket writes next: the rest of a big frame, else the free end of the stage."""
        if self._big_size:
            return memoryview(self._big)[self._big_fill : self._big_size]
        if self._start:
            # Move the unfinished frame to the front so the free end is as large as possible.
            rest = self._end - self._start
            self._stage[:rest] = self._view[self._start : self._end]
            self._start, self._end = 0, rest
        return self._view[self._end :]

    def buffer_updated(self, nbytes: int) -> None:
        if self._big_size:
            self._big_fill += nbytes
            if self._big_fill == self._big_size:
                self._frames.append(memoryview(self._big)[: self._big_size])
                self._lent.append(self._big)
                self._big_size = 0
                self._wake()
            return
        self._end += nbytes
        self._cut()

    def _cut(self) -> None:
        stage, start, end = self._stage, self._start, self._end
        before = len(self._frames)
        while end - start >= _SIZE_BYTES:
            size = int.from_bytes(stage[start : start + _SIZE_BYTES], "big", signed=True)
            if size < 0:
                self._fail(FrameError(f"negative Kafka frame size {size} from the broker"))
                return
            body = start + _SIZE_BYTES
            if end - body >= size:
                self._frames.append(bytes(self._view[body : body + size]))
                start = body + size
                continue
            if size > len(stage) - _SIZE_BYTES:
                # Will not fit the stage: give it a buffer of its own and let the socket fill the rest.
                if len(self._big) < size or any(lent is self._big for lent in self._lent):
                    self._big = bytearray(size)
                have = end - body
                self._big[:have] = self._view[body:end]
                self._big_size, self._big_fill = size, have
                start = end = 0
            break
        if start == end:
            start = end = 0
        self._start, self._end = start, end
        if len(self._frames) != before:
            self._wake()

    def feed_eof(self) -> None:
        self._eof = True
        self._wake()

    def set_exception(self, exc: BaseException) -> None:
        self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        self._exception = exc
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.cancelled():
                waiter.set_exception(exc)
        if isinstance(exc, FrameError) and self._transport is not None:
            self._transport.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- what the connection calls ---------------------------------------------------------------------
    def exception(self) -> BaseException | None:
        return self._exception

    def at_eof(self) -> bool:
        return self._eof and not self._frames

    async def read_frame(self) -> bytes | memoryview:
        """The next whole response frame, without its size prefix.

        A large frame is a ``memoryview`` of the reader's receive buffer: pass it to :meth:`release` once
        it is parsed, and keep no reference to it after that.
        """
        while not self._frames:
            if self._exception is not None:
                raise self._exception
            if self._eof:
                raise asyncio.IncompleteReadError(b"", None)
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._frames.popleft()

    def release(self, frame: memoryview) -> None:
        """Give the buffer of a large frame back for reuse (frames are released in the order read)."""
        frame.release()
        if self._lent:
            buffer = self._lent.popleft()
            if buffer is self._big and len(buffer) > KEEP_BYTES:
                self._big = bytearray()


class FrameView:
    """A large response frame as aiokafka's parsers read it (``read(n)``), without copying it first.

    ``io.BytesIO`` would copy a buffer that is not ``bytes``; this returns a copy of each field read and
    nothing else, so the frame's buffer can be reused once it is parsed.
    """

    __slots__ = ("_pos", "_view")

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        start, total = self._pos, len(self._view)
        end = total if size is None or size < 0 else min(start + size, total)
        self._pos = end
        return self._view[start:end].tobytes()


class FrameProtocol(_conn.AIOKafkaProtocol, asyncio.BufferedProtocol):
    """aiokafka's protocol (connection-lost future, write flow control) receiving into a FrameReader."""

    def __init__(self, closed_fut: asyncio.Future[None], reader: FrameReader, *, loop: Any) -> None:
        super().__init__(closed_fut, reader, loop=loop)
        self._frames = reader  # strong reference: StreamReaderProtocol only keeps a weak one

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._frames.get_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        self._frames.buffer_updated(nbytes)


class FrameConnection(_conn.AIOKafkaConnection):
    """``AIOKafkaConnection`` whose responses arrive through :class:`FrameProtocol`."""

    async def connect(self) -> Any:
        # Mirrors AIOKafkaConnection.connect of aiokafka 0.14.0 except for the reader and protocol.
        loop = self._loop
        self._closed_fut = _conn.create_future()
        if self._security_protocol in ["PLAINTEXT", "SASL_PLAINTEXT"]:
            ssl = None
        else:
            assert self._security_protocol in ["SSL", "SASL_SSL"]
            assert self._ssl_context is not None
            ssl = self._ssl_context
        reader = FrameReader(loop)
        protocol = FrameProtocol(self._closed_fut, reader, loop=loop)
        async with _conn.async_timeout.timeout(self._request_timeout):
            transport, _ = await loop.create_connection(lambda: protocol, self.host, self.port, ssl=ssl)
        # StreamWriter accepts only a real StreamReader; without one, drain() learns of a lost
        # connection from the protocol instead.
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
        self._reader, self._writer, self._protocol = reader, writer, protocol
        self._read_task = self._create_reader_task()
        if self._max_idle_ms is not None:
            self._idle_handle = loop.call_soon(self._idle_check, weakref.ref(self))
        try:
            await self._do_version_lookup()
            if self._security_protocol in ["SASL_SSL", "SASL_PLAINTEXT"]:
                await self._do_sasl_handshake()
        except BaseException:  # aiokafka's own clean-up, for any failure
            self.close()
            raise
        return reader, writer

    @staticmethod
    async def _read(self_ref: Any) -> None:
        self = self_ref()
        if self is None:
            return
        reader = self._reader
        del self
        while True:
            frame = await reader.read_frame()
            self = self_ref()
            if self is None:
                return
            try:
                self._handle_frame(frame)
            finally:
                if isinstance(frame, memoryview):
                    reader.release(frame)
            del self

    def _handle_frame(self, resp: bytes | memoryview) -> None:
        # AIOKafkaConnection._handle_frame of aiokafka 0.14.0, reading large frames in place.
        correlation_id, request, fut = self._requests[0]
        if correlation_id is None:  # a SASL packet: passed through as it is
            if not fut.done():
                fut.set_result(bytes(resp))
        else:
            stream: Any = io.BytesIO(resp) if isinstance(resp, bytes) else FrameView(resp)
            response_header = request.parse_response_header(stream)
            resp_type = request.RESPONSE_TYPE
            if (
                resp_type is _conn.FindCoordinatorResponse_v0
                and correlation_id != 0
                and response_header.correlation_id == 0
            ):
                _conn.log.warning(
                    "Kafka 0.8.2 quirk -- FindCoordinatorResponse correlation id does not match request. "
                    "This should go away once at least one topic has been initialized on the broker"
                )
            elif response_header.correlation_id != correlation_id:
                error = _conn.Errors.CorrelationIdError(
                    f"Correlation ids do not match: sent {correlation_id}, recv {response_header.correlation_id}"
                )
                if not fut.done():
                    fut.set_exception(error)
                self.close(reason=_conn.CloseReason.OUT_OF_SYNC)
                return
            if not fut.done():
                response = resp_type.decode(stream)
                _conn.log.debug("Response from %s:%d %d: %s", self._host, self._port, correlation_id, response)
                fut.set_result(response)
        self._last_action = time.monotonic()
        # The request is dropped only once its future is resolved: if anything above fails, close() fails it.
        self._requests.popleft()


def supported() -> bool:
    """Whether the installed aiokafka is the release this transport mirrors, and this Python's asyncio has
    the internals it relies on (:data:`.release.ASYNCIO_INTERNALS`)."""
    return release.supported() and release.asyncio_supported()


def install() -> bool:
    """Make every aiokafka connection opened from now on in this process a :class:`FrameConnection`.

    Returns False (and changes nothing) when the installed aiokafka is not a supported release or this
    Python's asyncio is not one frames.py was checked against.
    """
    if not supported():
        return False
    _conn.AIOKafkaConnection = FrameConnection  # type: ignore[misc]
    return True
