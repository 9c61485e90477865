"""``kafka.fast_io`` against the real broker: the same records as stock aiokafka, and a real reconnect."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from sidecar.kafka import fastio
from sidecar.kafka.fastio import frames

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

# Values from a few bytes to 900 KB: small ones share fetch responses smaller than the reader's stage,
# large ones make multi-megabyte responses received in place.
SIZES = [0, 10, 3_000, 70_000, 300_000, 900_000] * 4


@pytest.fixture
def fast_io() -> Iterator[list[str]]:
    applied = fastio.install()
    try:
        yield applied
    finally:
        fastio.uninstall()


async def _produce(bootstrap: str, topic: str) -> list[bytes]:
    rng = random.Random(11)
    values = [rng.randbytes(n) for n in SIZES]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for i, value in enumerate(values):
            await producer.send(topic, value, key=str(i).encode(), headers=[("n", str(i).encode())], partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    return values


async def _consume(bootstrap: str, topic: str, n: int) -> list[tuple[Any, ...]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None, check_crcs=True,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    got: list[tuple[Any, ...]] = []
    try:
        while len(got) < n:
            batches = await consumer.getmany(timeout_ms=5_000)
            assert batches, "no records within 5 s"
            for records in batches.values():
                got.extend((r.offset, r.key, r.value, tuple(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return got


async def test_fast_io_reads_exactly_what_stock_aiokafka_reads(kafka_bootstrap: str, kafka_topic: Any,
                                                              fast_io: list[str]) -> None:
    assert "frames" in fast_io
    topic = await kafka_topic()
    values = await _produce(kafka_bootstrap, topic)
    fast = await _consume(kafka_bootstrap, topic, len(values))
    fastio.uninstall()
    stock = await _consume(kafka_bootstrap, topic, len(values))
    assert fast == stock
    assert [v for _, _, v, _ in fast] == values


async def test_fast_io_connections_are_frame_connections_and_survive_a_dropped_socket(
        kafka_bootstrap: str, kafka_topic: Any, fast_io: list[str]) -> None:
    topic = await kafka_topic()
    values = await _produce(kafka_bootstrap, topic)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None, max_partition_fetch_bytes=1024 * 1024)
    await consumer.start()
    try:
        got: list[bytes] = []
        dropped: list[Any] = []  # kept referenced, so no new connection can reuse an id
        while len(got) < len(values):
            batches = await consumer.getmany(timeout_ms=5_000)
            assert batches, "no records within 5 s"
            for records in batches.values():
                got.extend(r.value for r in records)
            conns = list(consumer._client._conns.values())
            assert conns and all(isinstance(c, frames.FrameConnection) for c in conns)
            if not dropped and got:
                # Cut every socket under aiokafka's feet: it must notice, reconnect and go on.
                for conn in conns:
                    conn._writer.transport.abort()
                dropped = conns
        assert got == values
        now = consumer._client._conns.values()
        assert dropped and not any(c is d for c in now for d in dropped), "no new connection"
    finally:
        await consumer.stop()
