"""The aiokafka speed-ups of ``sidecar.kafka.fastio``: framing and hardware CRC, without a broker."""

from __future__ import annotations

import asyncio
import random
import ssl
import struct
from collections.abc import Iterator

import aiokafka.conn
import aiokafka.consumer.fetcher
import pytest
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.legacy_records import LegacyRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.kafka import fastio
from sidecar.kafka.fastio import crc, frames
from sidecar.kafka.fastio.frames import STAGE_BYTES, FrameError, FrameReader


# -- framing ------------------------------------------------------------------------------------------
def _stream(bodies: list[bytes]) -> bytes:
    return b"".join(struct.pack(">i", len(b)) + b for b in bodies)


def _body(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _feed(reader: FrameReader, data: bytes, chunks: list[int]) -> None:
    """What the transport does: fill the buffer the reader offers, in socket-sized pieces."""
    pos, i = 0, 0
    while pos < len(data):
        want = chunks[i % len(chunks)] if chunks else len(data)
        i += 1
        buf = reader.get_buffer()
        assert len(buf) > 0, "the reader must always offer room"
        n = min(len(buf), want, len(data) - pos)
        buf[:n] = data[pos : pos + n]
        reader.buffer_updated(n)
        pos += n


def _drain(loop: asyncio.AbstractEventLoop, reader: FrameReader, count: int) -> list[bytes | memoryview]:
    return [loop.run_until_complete(reader.read_frame()) for _ in range(count)]


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


_SIZES = st.one_of(
    st.integers(0, 300),
    st.sampled_from([STAGE_BYTES - 8, STAGE_BYTES - 4, STAGE_BYTES - 3, STAGE_BYTES, STAGE_BYTES + 1]),
    st.integers(STAGE_BYTES, 3 * STAGE_BYTES),
)


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(_SIZES, min_size=1, max_size=8), chunks=st.lists(st.integers(1, 400_000), max_size=6))
def test_frames_come_out_whole_and_in_order_however_the_bytes_arrive(sizes: list[int], chunks: list[int]) -> None:
    bodies = [_body(n, i) for i, n in enumerate(sizes)]
    loop = asyncio.new_event_loop()
    try:
        reader = FrameReader(loop)
        _feed(reader, _stream(bodies), chunks)
        assert [bytes(f) for f in _drain(loop, reader, len(bodies))] == bodies
        assert not reader.at_eof()
        reader.feed_eof()
        assert reader.at_eof()
    finally:
        loop.close()


def test_small_frames_are_bytes_and_large_ones_views_of_the_receive_buffer(loop: asyncio.AbstractEventLoop) -> None:
    reader = FrameReader(loop)
    bodies = [b"small", _body(2 * STAGE_BYTES + 7, 1), _body(STAGE_BYTES + 1, 2)]
    _feed(reader, _stream(bodies), [65_536])
    out = _drain(loop, reader, 3)
    assert [bytes(f) for f in out] == bodies
    assert [type(f) for f in out] == [bytes, memoryview, memoryview]


def test_a_large_frame_is_never_overwritten_before_it_is_released(loop: asyncio.AbstractEventLoop) -> None:
    reader = FrameReader(loop)
    first, second, third = _body(3 * STAGE_BYTES, 3), _body(STAGE_BYTES + 10, 4), _body(STAGE_BYTES + 5, 5)
    _feed(reader, _stream([first]), [100_000])
    got = _drain(loop, reader, 1)[0]
    assert isinstance(got, memoryview)
    _feed(reader, _stream([second]), [100_000])  # arrives while the first is still being parsed
    assert got == first
    got2 = _drain(loop, reader, 1)[0]
    assert isinstance(got2, memoryview)
    assert got2 == second and got2.obj is not got.obj
    second_buffer = got2.obj
    reader.release(got)
    reader.release(got2)
    _feed(reader, _stream([third]), [100_000])
    got3 = _drain(loop, reader, 1)[0]
    assert isinstance(got3, memoryview)
    assert got3 == third and got3.obj is second_buffer, "a released buffer is reused (no new pages to fault in)"


def test_frame_view_reads_fields_like_bytesio() -> None:
    import io

    data = bytes(range(256)) * 10
    view, ref = frames.FrameView(memoryview(bytearray(data))), io.BytesIO(data)
    for n in (4, 0, 17, 1000, -1, 5):
        assert view.read(n) == ref.read(n)
    assert view.read(3) == b""


def test_a_waiting_reader_wakes_when_its_frame_completes(loop: asyncio.AbstractEventLoop) -> None:
    reader = FrameReader(loop)
    data = _stream([b"hello", _body(STAGE_BYTES * 2, 5)])

    async def scenario() -> list[bytes | memoryview]:
        task = asyncio.ensure_future(reader.read_frame())
        await asyncio.sleep(0)
        assert not task.done()
        _feed(reader, data[:7], [])  # size prefix and one byte of the first body
        await asyncio.sleep(0)
        assert not task.done()
        _feed(reader, data[7:], [50_000])
        return [await task, await reader.read_frame()]

    assert [bytes(f) for f in loop.run_until_complete(scenario())] == [b"hello", _body(STAGE_BYTES * 2, 5)]


def test_end_of_stream_inside_a_frame_is_an_incomplete_read(loop: asyncio.AbstractEventLoop) -> None:
    reader = FrameReader(loop)
    _feed(reader, _stream([b"whole"]) + _stream([b"cut off"])[:6], [])
    reader.feed_eof()
    assert _drain(loop, reader, 1) == [b"whole"]
    assert reader.at_eof()
    with pytest.raises(asyncio.IncompleteReadError):
        loop.run_until_complete(reader.read_frame())


def test_a_negative_frame_size_fails_the_reader_and_closes_the_connection(loop: asyncio.AbstractEventLoop) -> None:
    closed: list[bool] = []

    class Transport(asyncio.Transport):
        def close(self) -> None:
            closed.append(True)

    reader = FrameReader(loop)
    reader.set_transport(Transport())
    _feed(reader, struct.pack(">i", -5) + b"junk", [])
    with pytest.raises(FrameError, match="negative Kafka frame size -5"):
        loop.run_until_complete(reader.read_frame())
    assert closed == [True]
    assert isinstance(reader.exception(), FrameError)


def test_a_connection_error_reaches_the_waiting_reader(loop: asyncio.AbstractEventLoop) -> None:
    reader = FrameReader(loop)

    async def scenario() -> None:
        task = asyncio.ensure_future(reader.read_frame())
        await asyncio.sleep(0)
        reader.set_exception(ConnectionResetError("peer reset"))
        await task

    with pytest.raises(ConnectionResetError, match="peer reset"):
        loop.run_until_complete(scenario())


# -- CRC ----------------------------------------------------------------------------------------------
def _batch(values: list[bytes], base: int = 0) -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=0, is_transactional=0, producer_id=-1, producer_epoch=-1, base_sequence=-1,
        batch_size=1 << 24,
    )
    for i, v in enumerate(values):
        builder.append(i, timestamp=1_700_000_000_000 + i, key=None, value=v, headers=[])
    data = bytearray(builder.build())
    struct.pack_into(">q", data, 0, base)
    return bytes(data)


def _records(data: bytes) -> list[tuple[int, bytes | None]]:
    return [(r.offset, r.value) for r in _partition(MemoryRecords(data), check=True)]


def _partition(records: object, check: bool) -> aiokafka.consumer.fetcher.PartitionRecords:
    return crc.CheckedPartitionRecords(
        TopicPartition("t", 0), records, None, 0, None, None, check, aiokafka.consumer.fetcher.READ_UNCOMMITTED
    )


needs_hw = pytest.mark.skipif(not crc.hardware(), reason="no hardware CRC32C on this CPU")


@needs_hw
def test_whole_v2_batches_with_matching_crcs_are_verified() -> None:
    data = _batch([b"a" * 10, b"b" * 1000]) + _batch([_body(300_000, 7)], base=2) + _batch([b""], base=3)
    assert crc.batches_verified(data)
    checked = crc.CheckedRecords(data)
    assert checked.crcs_verified
    assert [(r.offset, r.value) for r in _partition(checked, check=True)] == _records(data)


@needs_hw
def test_one_flipped_byte_fails_verification_and_aiokafka_still_raises() -> None:
    good = _batch([b"x" * 100, b"y" * 100]) + _batch([b"z" * 5000], base=2)
    bad = bytearray(good)
    bad[-100] ^= 0x01  # inside the second batch's last value
    assert not crc.batches_verified(bytes(bad))
    checked = crc.CheckedRecords(bytes(bad))
    assert not checked.crcs_verified
    with pytest.raises(CorruptRecordException, match="Invalid CRC"):
        list(_partition(checked, check=True))


@needs_hw
def test_a_batch_cut_off_at_the_end_of_a_fetch_is_not_checked() -> None:
    whole = _batch([b"a" * 100])
    assert crc.batches_verified(whole + _batch([b"b" * 1000], base=1)[:500])


def test_old_message_formats_are_left_to_aiokafka() -> None:
    builder = LegacyRecordBatchBuilder(magic=1, compression_type=0, batch_size=1 << 20)
    builder.append(0, timestamp=1_700_000_000_000, key=None, value=b"old")
    assert not crc.batches_verified(bytes(builder.build()))


def test_without_verification_aiokafkas_own_check_still_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crc, "_crc32c", None)
    assert not crc.hardware()
    assert not crc.supported()
    bad = bytearray(_batch([b"q" * 100]))
    bad[-10] ^= 0xFF
    checked = crc.CheckedRecords(bytes(bad))
    assert not checked.crcs_verified
    with pytest.raises(CorruptRecordException):
        list(_partition(checked, check=True))


# -- install ------------------------------------------------------------------------------------------
def test_install_swaps_aiokafkas_classes_and_uninstall_puts_them_back() -> None:
    fastio.uninstall()  # a service started by an earlier test installs them for the whole process
    stock = (aiokafka.conn.AIOKafkaConnection, aiokafka.consumer.fetcher.MemoryRecords,
             aiokafka.consumer.fetcher.PartitionRecords)
    try:
        applied = fastio.install()
        assert "frames" in applied  # the pinned aiokafka is the supported release
        assert aiokafka.conn.AIOKafkaConnection is frames.FrameConnection
        if crc.supported():
            assert applied == ["frames", "crc"]
            assert aiokafka.consumer.fetcher.MemoryRecords is crc.CheckedRecords
            assert aiokafka.consumer.fetcher.PartitionRecords is crc.CheckedPartitionRecords
    finally:
        fastio.uninstall()
    assert (aiokafka.conn.AIOKafkaConnection, aiokafka.consumer.fetcher.MemoryRecords,
            aiokafka.consumer.fetcher.PartitionRecords) == stock


# Each half of fast_io with the aiokafka names it replaces.
HALVES = {
    "frames": [(aiokafka.conn, "AIOKafkaConnection")],
    "crc": [(aiokafka.consumer.fetcher, "MemoryRecords"), (aiokafka.consumer.fetcher, "PartitionRecords")],
}


@pytest.fixture
def any_cpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if the CPU had a hardware CRC32C, so only the aiokafka release can keep the crc half out."""
    monkeypatch.setattr(crc, "hardware", lambda: True)
    fastio.uninstall()  # a service started by an earlier test installs fast_io for the whole process
    try:
        yield
    finally:
        fastio.uninstall()


def _current(half: str) -> list[object]:
    return [getattr(module, name) for module, name in HALVES[half]]


@pytest.mark.parametrize("half", sorted(HALVES))
@pytest.mark.usefixtures("any_cpu")
def test_the_pinned_aiokafka_release_installs_each_half(half: str) -> None:
    stock = _current(half)
    assert aiokafka.__version__ in fastio.release.SUPPORTED_AIOKAFKA
    assert half in fastio.install()
    assert all(now is not before for now, before in zip(_current(half), stock, strict=True))


@pytest.mark.parametrize("version", ["0.13.0", "0.14.1", "0.15.0"])
@pytest.mark.parametrize("half", sorted(HALVES))
@pytest.mark.usefixtures("any_cpu")
def test_another_aiokafka_release_installs_neither_half(half: str, version: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    stock = _current(half)
    monkeypatch.setattr(aiokafka, "__version__", version)
    assert half not in fastio.install()
    assert all(now is before for now, before in zip(_current(half), stock, strict=True))


# -- over TLS -----------------------------------------------------------------------------------------
async def test_frames_arrive_whole_through_tls(tls_pair: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    """asyncio's TLS transport hands decrypted bytes to a BufferedProtocol through get_buffer as well (the
    SSL and SASL_SSL listeners); small and large frames written in odd pieces come out whole."""
    server_ctx, client_ctx = tls_pair
    bodies = [_body(n, i) for i, n in enumerate([0, 5, 300, STAGE_BYTES + 1, 40, 3 * STAGE_BYTES, 7, STAGE_BYTES - 4])]
    data = _stream(bodies)

    async def serve(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rng = random.Random(5)
        pos = 0
        while pos < len(data):
            n = rng.choice([1, 3, 1000, 16_384, 100_000])
            writer.write(data[pos : pos + n])
            pos += n
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    try:
        reader = FrameReader(loop)
        closed: asyncio.Future[None] = loop.create_future()
        offered: list[int] = []

        class Counting(frames.FrameProtocol):
            def get_buffer(self, sizehint: int) -> memoryview:
                buf = super().get_buffer(sizehint)
                offered.append(len(buf))
                return buf

        transport, _ = await loop.create_connection(lambda: Counting(closed, reader, loop=loop),
                                                    "127.0.0.1", port, ssl=client_ctx)
        got = []
        for _ in bodies:
            frame = await asyncio.wait_for(reader.read_frame(), 10)
            got.append(bytes(frame))
            if isinstance(frame, memoryview):
                reader.release(frame)
        assert got == bodies
        assert offered and min(offered) > 0, "TLS must fill the reader's buffers, not call data_received"
        await asyncio.wait_for(closed, 10)  # the server closed: the protocol resolves aiokafka's future
        assert reader.at_eof()
        transport.close()
    finally:
        server.close()
        await server.wait_closed()


def test_a_receive_buffer_beyond_the_keep_size_is_dropped_once_released(loop: asyncio.AbstractEventLoop,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames, "KEEP_BYTES", 2 * STAGE_BYTES)
    reader = FrameReader(loop)
    huge, normal = _body(3 * STAGE_BYTES, 8), _body(2 * STAGE_BYTES, 9)
    _feed(reader, _stream([huge]), [100_000])
    (got,) = _drain(loop, reader, 1)
    assert isinstance(got, memoryview) and got == huge
    reader.release(got)
    assert len(reader._big) == 0, "a buffer above KEEP_BYTES is not held after its frame"
    _feed(reader, _stream([normal]), [100_000])
    (got,) = _drain(loop, reader, 1)
    assert isinstance(got, memoryview) and got == normal
    kept = got.obj
    reader.release(got)
    assert reader._big is kept, "one within KEEP_BYTES is kept for the next large frame"
