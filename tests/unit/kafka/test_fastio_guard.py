"""The guards of ``kafka.fast_io``: each must refuse to install when what it mirrors is not there.

The frames half leans on asyncio internals (:data:`release.ASYNCIO_INTERNALS`); these tests take each kind
of thing away (a private method, a Python version, a signature) and check that frames then refuses, and
they compare the guard's list with what asyncio actually calls of the frames reader and protocol during a
real exchange, plain and over TLS, so the list cannot drift from the code it guards.
"""

from __future__ import annotations

import asyncio
import inspect
import selectors
import ssl
import struct
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import aiokafka.conn
import pytest

from sidecar.kafka import fastio
from sidecar.kafka.fastio import crc, frames, release

VERSION = (sys.version_info.major, sys.version_info.minor)


@pytest.fixture(autouse=True)
def _stock() -> Iterator[None]:
    fastio.uninstall()
    yield
    fastio.uninstall()


def test_this_python_is_one_the_guard_was_checked_on_and_has_every_internal() -> None:
    assert VERSION in release.ASYNCIO_INTERNALS, "a Python the project supports (3.11+) must be in the table"
    assert release.asyncio_missing() == []
    assert frames.supported()
    assert "frames" in fastio.install()
    assert aiokafka.conn.AIOKafkaConnection is frames.FrameConnection


def _refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crc, "hardware", lambda: True)  # so the crc half still installs: only frames is kept out
    assert not frames.supported()
    assert fastio.install() == ["crc"]
    assert aiokafka.conn.AIOKafkaConnection is fastio.PATCHED[0][2]


@pytest.mark.parametrize("name", release.ASYNCIO_INTERNALS.get(VERSION, ()))
def test_an_internal_taken_away_keeps_frames_out(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    owner_name, _, attribute = name.rpartition(".")
    if ":" not in owner_name:  # a whole class: take it out of its module
        owner_name, _, attribute = name.partition(":")
        owner: Any = __import__(owner_name, fromlist=["_"])
    else:
        owner = release.resolve(owner_name)
    # The attribute may live on a base class: shadow it with nothing on every class of the MRO that has it.
    holders = [k for k in getattr(owner, "__mro__", (owner,)) if attribute in vars(k)]
    assert holders, f"{name} is not where the guard says"
    for holder in holders:
        monkeypatch.delattr(holder, attribute)
    assert name in release.asyncio_missing()
    _refused(monkeypatch)


def test_a_python_the_table_does_not_list_keeps_frames_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(release.ASYNCIO_INTERNALS, VERSION)
    assert release.asyncio_missing()[0].startswith(f"Python {VERSION[0]}.{VERSION[1]} ")
    _refused(monkeypatch)


def test_a_next_python_is_not_trusted_before_its_asyncio_was_read() -> None:
    assert release.asyncio_missing((3, 99)) != []


@pytest.mark.parametrize("name", sorted(release.ASYNCIO_SIGNATURES))
def test_a_changed_signature_keeps_frames_out(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    owner_name, _, method = name.rpartition(".")
    owner = release.resolve(owner_name)
    original = getattr(owner, method)

    def changed(self: Any, *args: Any, extra: object = None, **kwargs: Any) -> None:
        original(self, *args, **kwargs)

    monkeypatch.setattr(owner, method, changed)
    assert any(m.startswith(name) for m in release.asyncio_missing())
    _refused(monkeypatch)


def test_the_signatures_are_the_ones_frames_calls() -> None:
    for name, params in release.ASYNCIO_SIGNATURES.items():
        assert tuple(inspect.signature(release.resolve(name)).parameters) == params  # type: ignore[arg-type]
    source = inspect.getsource(frames)
    assert "asyncio.StreamWriter(transport, protocol, None, loop)" in source
    assert "super().__init__(closed_fut, reader, loop=loop)" in source


def test_the_frames_reader_offers_what_asyncio_gives_a_stream_reader() -> None:
    """FrameReader stands in for asyncio.StreamReader: every reader attribute the guard names, it has."""
    reader_parts = [n.partition(":")[2].split(".", 1)[1] for n in release.ASYNCIO_INTERNALS[VERSION]
                    if n.startswith("asyncio.streams:StreamReader.")]
    assert reader_parts
    loop = asyncio.new_event_loop()
    try:
        reader = frames.FrameReader(loop)
        assert [p for p in reader_parts if not hasattr(reader, p)] == []
    finally:
        loop.close()


# -- what asyncio really calls --------------------------------------------------------------------------
def _frames_code() -> set[Any]:
    codes = set()
    for cls in (frames.FrameReader, frames.FrameProtocol):
        for value in vars(cls).values():
            code = getattr(value, "__code__", None)
            if code is not None:
                codes.add(code)
    return codes


def _callers_from_asyncio(exchange: Any) -> set[str]:
    """Run ``exchange()`` and return every asyncio function that called into FrameReader or FrameProtocol,
    as ``module:qualname``."""
    ours = _frames_code()
    seen: set[str] = set()

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code in ours and frame.f_back is not None:
            caller = frame.f_back
            module = caller.f_globals.get("__name__", "")
            if module.startswith("asyncio"):
                seen.add(f"{module}:{caller.f_code.co_qualname}")

    loop = asyncio.SelectorEventLoop(selectors.DefaultSelector())
    try:
        sys.setprofile(profile)
        try:
            loop.run_until_complete(asyncio.wait_for(exchange(), 20))
        finally:
            sys.setprofile(None)
    finally:
        loop.close()
    return seen


def _exchange(server_ctx: ssl.SSLContext | None, client_ctx: ssl.SSLContext | None) -> Any:
    bodies = [b"x" * 10, b"y" * (frames.STAGE_BYTES + 5), b""]
    data = b"".join(struct.pack(">i", len(b)) + b for b in bodies)

    async def run() -> None:
        async def serve(request: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await request.readexactly(4)  # unread bytes at close would reset the connection
            writer.write(data)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        try:
            reader = frames.FrameReader(loop)
            closed: asyncio.Future[None] = loop.create_future()
            protocol = frames.FrameProtocol(closed, reader, loop=loop)
            transport, _ = await loop.create_connection(lambda: protocol, "127.0.0.1", port, ssl=client_ctx)
            writer = asyncio.StreamWriter(transport, protocol, None, loop)
            writer.write(b"\0\0\0\0")  # what aiokafka's requests go through
            await writer.drain()
            for body in bodies:
                frame = await reader.read_frame()
                assert bytes(frame) == body
                if isinstance(frame, memoryview):
                    reader.release(frame)
            while not reader.at_eof():  # the server's close: eof_received (plain) or connection_lost (TLS)
                await asyncio.sleep(0.01)
            writer.close()
            await closed  # connection_lost resolves aiokafka's future
        finally:
            server.close()
            await server.wait_closed()

    return run


def test_the_guard_lists_every_asyncio_internal_that_calls_the_frames_reader(
        tls_pair: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    """If a Python routes bytes or connection events to the reader through a function the guard does not
    list (a renamed transport method, a new TLS read path), this fails: the guard must be re-read."""
    server_ctx, client_ctx = tls_pair
    plain = _callers_from_asyncio(_exchange(None, None))
    tls = _callers_from_asyncio(_exchange(server_ctx, client_ctx))
    listed = set(release.ASYNCIO_INTERNALS[VERSION])
    assert "asyncio.selector_events:_SelectorSocketTransport._read_ready__get_buffer" in plain
    assert "asyncio.sslproto:SSLProtocol._do_read__buffered" in tls
    assert (plain | tls) - listed == set()
