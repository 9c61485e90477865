"""SidecarService's record handling without a broker: the loop survives anything a batch throws at it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from sidecar import DataContract
from sidecar.config import Settings
from sidecar.demo.data import churn_frame
from sidecar.metrics import SidecarMetrics
from sidecar.stream.answers import ingest_requests
from sidecar.stream.service import SidecarService


def _record(offset: int, value: bytes | None) -> ConsumerRecord:
    return ConsumerRecord(topic="t", partition=0, offset=offset, timestamp=1_800_000_000_000, timestamp_type=0,
                          key=None, value=value, checksum=None, serialized_key_size=0,
                          serialized_value_size=len(value or b""), headers=())


@pytest.fixture
def service(tmp_path: Path) -> SidecarService:
    contract = DataContract("c", churn_frame(500, seed=1))
    settings = Settings(model="m", inputs={"topic": "t", "contract": "unused"}, window={"min_rows": 1},
                        ingest={"worker_process": False})
    return SidecarService(settings, SidecarMetrics("m"), contracts={"inputs": contract})


async def _ingest(service: SidecarService, records: list[ConsumerRecord]) -> None:
    tp = TopicPartition("t", 0)
    service.ledger.saw(tp, records[0].offset)
    for request in ingest_requests(tp, records):
        await service.answers.submit(request)
    await service.answers.drain(keep=0)


def _count(service: SidecarService, result: str) -> float:
    return service.metrics.records.labels("m", "t", result)._value.get()


async def test_good_and_bad_records_are_counted(service: SidecarService) -> None:
    good = orjson.dumps({"request_id": "r", "timestamp": 1_800_000_000, "values": {"age": 30}})
    await _ingest(service, [_record(0, good), _record(1, b"{bad"), _record(2, good)])
    assert (_count(service, "ok"), _count(service, "dead_lettered")) == (2, 1)
    (window,) = service.open_windows["t"]
    assert window.rows == 2
    assert service.ledger.commits[TopicPartition("t", 0)] == 0  # the open window still holds record 0


async def test_offsets_past_closed_windows_become_committable(service: SidecarService) -> None:
    def rec(offset: int, ts: float) -> ConsumerRecord:
        return _record(offset, orjson.dumps({"request_id": "r", "timestamp": ts, "values": {"age": 30}}))

    size = service.settings.window.size_seconds + service.settings.window.lateness_seconds
    await _ingest(service, [rec(0, 1_800_000_000), rec(1, 1_800_000_001)])
    await _ingest(service, [rec(2, 1_800_000_000 + 2 * size)])
    assert service.ledger.commits[TopicPartition("t", 0)] == 2  # records 0 and 1 are in a published window
    assert service.last_reports["t"].row_count["actual"] == 2


async def test_an_internal_error_dead_letters_the_batch_instead_of_crashing(service: SidecarService,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    stream = service.ingest.engine.streams["t"]

    def boom(messages):
        raise RuntimeError("bug")

    monkeypatch.setattr(stream.decoder, "decode", boom)
    await _ingest(service, [_record(5, b"{}"), _record(6, b"{}")])
    assert _count(service, "dead_lettered") == 2
    assert service.ledger.commits[TopicPartition("t", 0)] == 7


class _FakeProducer:
    """Fails the first ``failures`` sends, then acknowledges."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[tuple[str, bytes | None]] = []

    async def send(self, topic, value=None, key=None, headers=None):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        if self.failures:
            self.failures -= 1
            fut.set_exception(RuntimeError("broker said no"))
        else:
            self.sent.append((topic, value))
            fut.set_result(None)
        return fut


class _FakeConsumer:
    def __init__(self) -> None:
        self.commits: list[dict] = []

    def assignment(self):
        return {TopicPartition("t", 0)}

    async def commit(self, offsets) -> None:
        self.commits.append(offsets)


async def test_no_commit_past_a_record_whose_dead_letter_copy_failed(service: SidecarService) -> None:
    producer, consumer = _FakeProducer(failures=1), _FakeConsumer()
    service._producer, service._consumer = producer, consumer
    await _ingest(service, [_record(0, b"{bad")])
    await service.committer.commit(service._consumer, service._producer)
    assert consumer.commits == [] and producer.sent == []  # the copy failed: nothing committed
    await service.committer.commit(service._consumer, service._producer)
    assert producer.sent == [("t.dlq", b"{bad")]
    assert consumer.commits and consumer.commits[0][TopicPartition("t", 0)].offset == 1


async def test_a_large_batch_is_handed_over_in_pieces_of_about_a_mebibyte(service: SidecarService) -> None:
    from sidecar.stream.answers import CHUNK_BYTES

    body = orjson.dumps({"request_id": "r", "timestamp": 1_800_000_000, "values": {"age": 30, "pad": "x" * 900}})
    n = 3 * CHUNK_BYTES // len(body) + 10
    seen: list[int] = []
    submit = service.ingest.submit

    async def spy(request):
        seen.append(len(request.messages))
        return await submit(request)

    service.ingest.submit = spy  # type: ignore[method-assign]
    await _ingest(service, [_record(i, body) for i in range(n)])
    assert len(seen) == 4 and sum(seen) == n and max(seen) * len(body) <= CHUNK_BYTES + len(body)
    assert _count(service, "ok") == n


class _SeekingConsumer:
    def __init__(self) -> None:
        self.seeks: list[tuple[TopicPartition, int]] = []

    def assignment(self):
        return {TopicPartition("t", 0)}

    def seek(self, tp, offset) -> None:
        self.seeks.append((tp, offset))


def test_records_fetched_across_a_rebalance_are_read_again_not_ingested(service: SidecarService) -> None:
    consumer = _SeekingConsumer()
    tp = TopicPartition("t", 0)
    batch = {tp: [_record(40, b"{}"), _record(41, b"{}")]}
    service.replayer.rebalancing = True  # still inside on_partitions_assigned: its own seeks will cover them
    service.replayer.replay(consumer, batch)
    assert consumer.seeks == [] and service.ledger.first_offset[tp] == 40
    service.replayer.rebalancing, service.ledger.replay_from = False, {tp: 35}  # done: back to where it sought
    service.replayer.replay(consumer, batch)
    assert consumer.seeks == [(tp, 35)]
    assert _count(service, "ok") == 0


async def test_a_failed_request_is_logged_and_the_answers_after_it_still_apply(service: SidecarService,
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    from sidecar.stream.engine import Request

    submit = service.ingest.submit

    async def failing_once(request):
        if request.op == "tick":
            future = asyncio.get_running_loop().create_future()
            future.set_exception(RuntimeError("ingest worker: KeyError: boom"))
            return future
        return await submit(request)

    service.ingest.submit = failing_once  # type: ignore[method-assign]
    await service.answers.submit(Request("tick"))
    await _ingest(service, [_record(0, orjson.dumps({"request_id": "r", "timestamp": 1_800_000_000,
                                                     "values": {"age": 30}}))])
    assert _count(service, "ok") == 1 and "ingest request failed" in caplog.text


def _patched_names() -> list[object]:
    from sidecar.kafka import fastio

    return [getattr(module, name) for module, name, _ in fastio.PATCHED]


@pytest.mark.parametrize("fast_io", [True, False])
async def test_the_service_uses_fast_io_only_when_configured_and_only_while_it_runs(
        tmp_path: Path, fast_io: bool, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import aiokafka.conn

    from sidecar.kafka import fastio
    from sidecar.kafka.fastio import crc
    from sidecar.kafka.fastio.frames import FrameConnection

    fastio.uninstall()
    monkeypatch.setattr(crc, "hardware", lambda: True)  # both halves install, whatever this CPU has
    stock = [stock for _, _, stock in fastio.PATCHED]
    assert _patched_names() == stock
    settings = Settings(model="m", inputs={"topic": "t", "contract": "unused"}, ingest={"worker_process": False},
                        kafka={"bootstrap_servers": "127.0.0.1:9", "fast_io": fast_io, "retry_backoff_seconds": 0.05})
    service = SidecarService(settings, SidecarMetrics("m"),
                             contracts={"inputs": DataContract("c", churn_frame(200, seed=1))})
    with caplog.at_level("INFO", logger="sidecar.stream.service"):
        await service.start()
        try:
            assert (aiokafka.conn.AIOKafkaConnection is FrameConnection) is fast_io
            assert (_patched_names() != stock) is fast_io
            if fast_io:
                assert all(now is not before for now, before in zip(_patched_names(), stock, strict=True))
        finally:
            await service.stop()
    assert ("Kafka fast I/O: frames, crc" in caplog.text) is fast_io
    assert _patched_names() == stock, "a stopped service leaves aiokafka as it found it"
    await service.stop()  # twice: still nothing to undo
    assert _patched_names() == stock


async def test_a_stopping_service_leaves_another_services_fast_io_alone(tmp_path: Path) -> None:
    """Each service undoes only what it installed; the last one to stop leaves aiokafka stock."""
    import aiokafka.conn

    from sidecar.kafka import fastio
    from sidecar.kafka.fastio.frames import FrameConnection

    fastio.uninstall()
    stock = _patched_names()
    settings = Settings(model="m", inputs={"topic": "t", "contract": "unused"}, ingest={"worker_process": False},
                        kafka={"bootstrap_servers": "127.0.0.1:9", "retry_backoff_seconds": 0.05})
    contract = DataContract("c", churn_frame(200, seed=1))
    first = SidecarService(settings, SidecarMetrics("m"), contracts={"inputs": contract})
    second = SidecarService(settings, SidecarMetrics("m"), contracts={"inputs": contract})
    async with first:
        async with second:
            assert aiokafka.conn.AIOKafkaConnection is FrameConnection
        assert aiokafka.conn.AIOKafkaConnection is FrameConnection, "the first service still runs with it"
    assert _patched_names() == stock
