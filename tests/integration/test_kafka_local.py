"""The local broker behaves like Kafka where the sidecar depends on it.

The sidecar's delivery guarantee (DESIGN.md section 4) rests on consumer-group offsets: it commits only
after a window is published, and a restarted consumer must resume exactly after the last commit. These
tests check that against the real broker from ``scripts/kafka-local`` and also check the script itself.
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

KAFKA_LOCAL = Path(__file__).resolve().parents[2] / "scripts" / "kafka-local"
N_MESSAGES = 1000


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(KAFKA_LOCAL), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load_script() -> ModuleType:
    """Import scripts/kafka-local (no .py suffix) to unit-test its protocol helpers."""
    loader = importlib.machinery.SourceFileLoader("kafka_local_script", str(KAFKA_LOCAL))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses resolve string annotations through sys.modules
    loader.exec_module(module)
    return module


def group_consumer(bootstrap: str, topic: str, group: str) -> AIOKafkaConsumer:
    """The sidecar's consumer settings: manual commits, start from the beginning without a commit."""
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


async def consume(consumer: AIOKafkaConsumer, count: int, timeout: float = 60) -> list[ConsumerRecord]:
    """Exactly ``count`` records via getmany (as the sidecar batches); fails on a shortfall or extras."""
    records: list[ConsumerRecord] = []
    async with asyncio.timeout(timeout):
        while len(records) < count:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
    assert len(records) == count, f"expected {count} records, got {len(records)}"
    extra = await consumer.getmany(timeout_ms=300)
    assert not any(extra.values()), "consumer received more records than were left"
    return records


@pytest.mark.kafka
async def test_group_resumes_after_committed_offset(
    kafka_bootstrap: str, kafka_topic: Callable[..., Awaitable[str]]
) -> None:
    topic = await kafka_topic(partitions=3)
    group = f"{topic}-group"

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        sends = [
            await producer.send(topic, key=str(i).encode(), value=json.dumps({"i": i}).encode())
            for i in range(N_MESSAGES)
        ]
        metadata = await asyncio.gather(*sends)
    finally:
        await producer.stop()
    per_partition: dict[int, list[int]] = defaultdict(list)
    for meta in metadata:
        per_partition[meta.partition].append(meta.offset)
    assert len(per_partition) > 1, "keys should spread over several partitions"

    first = group_consumer(kafka_bootstrap, topic, group)
    await first.start()
    try:
        records = await consume(first, N_MESSAGES)
        assert sorted(json.loads(r.value)["i"] for r in records) == list(range(N_MESSAGES))
        offsets: dict[int, list[int]] = defaultdict(list)
        for r in records:
            offsets[r.partition].append(r.offset)
        for partition, seen in offsets.items():
            assert seen == sorted(per_partition[partition]) == list(range(len(seen)))

        # "Process" only the first half of each partition and commit next-offset-to-read for it.
        committed = {TopicPartition(topic, p): len(seen) // 2 for p, seen in offsets.items()}
        await first.commit(committed)
        for tp, offset in committed.items():
            assert await first.committed(tp) == offset
    finally:
        await first.stop()

    expected_rest = {
        json.loads(r.value)["i"] for r in records if r.offset >= committed[TopicPartition(topic, r.partition)]
    }
    second = group_consumer(kafka_bootstrap, topic, group)
    await second.start()
    try:
        rest = await consume(second, len(expected_rest))
        assert {json.loads(r.value)["i"] for r in rest} == expected_rest
        for tp, offset in committed.items():
            assert min(r.offset for r in rest if r.partition == tp.partition) == offset
        await second.commit()  # commits the consumed positions
        for tp in committed:
            assert await second.committed(tp) == len(per_partition[tp.partition])
    finally:
        await second.stop()


@pytest.mark.kafka
def test_status_reports_the_session_broker(kafka_bootstrap: str, kafka_state_dir: Path | None) -> None:
    if kafka_state_dir is None:
        pytest.skip("broker given by KAFKA_BOOTSTRAP_SERVERS; its state dir is not ours to inspect")
    result = run_script("status", "--state-dir", str(kafka_state_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split()[:2] == ["running", kafka_bootstrap]


def test_status_and_stop_without_a_broker(tmp_path: Path) -> None:
    """``stop`` must be safe in cleanup paths where nothing runs; ``status`` then exits 1."""
    result = run_script("status", "--state-dir", str(tmp_path))
    assert (result.returncode, result.stdout.strip()) == (1, "stopped")
    assert run_script("stop", "--state-dir", str(tmp_path)).returncode == 0


def test_crc32c_matches_the_standard_check_value() -> None:
    """The stdlib readiness probe produces RecordBatch v2, whose checksum is CRC-32C (not zlib's)."""
    assert load_script().crc32c(b"123456789") == 0xE3069283
