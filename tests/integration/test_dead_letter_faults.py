"""Dead letters that are too large, against the real broker: commits never stall on them, nothing is lost.

A source topic that allows 8 MB messages and a 2 MiB garbage record:
- the sidecar creates ``<topic>.dlq`` at start-up with the source's ``max.message.bytes``, so the copy lands;
- a dead-letter topic that already exists with a 1000-byte limit cannot take it: the copy is quarantined
  under the store path, counted in ``model_health_dead_letter_failures_total``, and the commit moves on.
Either way the offsets are committed past the record within one window after it and both windows hold
every good row.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sidecar_proc import SidecarProcess
from traffic import T0, make_contract, record_messages, sidecar_config

from sidecar.demo.data import churn_frame
from sidecar.kafka.topics import topic_max_message_bytes
from sidecar.store.reports import JsonlReportStore

pytestmark = [pytest.mark.kafka, pytest.mark.integration, pytest.mark.timeout(180)]

LIMIT = 8 * 1024 * 1024
GARBAGE = b"\xff" + os.urandom(2 * 1024 * 1024)  # 2 MiB that no decoder accepts


async def _topics(bootstrap: str, specs: dict[str, int]) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    new = [NewTopic(name, 1, 1, topic_configs={"max.message.bytes": str(limit)}) for name, limit in specs.items()]
    response = await admin.create_topics(new, timeout_ms=30_000)
    assert all(code == 0 for _, code, *_ in response.topic_errors), response.topic_errors
    return admin


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> list[int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=LIMIT, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, v) for v in values]
        return [(await f).offset for f in futures]
    finally:
        await producer.stop()


async def _committed(admin: AIOKafkaAdminClient, group: str, topic: str) -> int:
    offsets = await admin.list_consumer_group_offsets(group)
    om = offsets.get(TopicPartition(topic, 0))
    return -1 if om is None else om.offset


async def _run(tmp_path: Path, bootstrap: str, dlq_limit: int | None) -> dict[str, object]:
    topic = f"dlq-fault-{uuid.uuid4().hex[:10]}"
    specs = {topic: LIMIT} | ({f"{topic}.dlq": dlq_limit} if dlq_limit is not None else {})
    admin = await _topics(bootstrap, specs)
    make_contract(tmp_path / "contracts")
    w0, w1 = churn_frame(200, seed=21), churn_frame(200, seed=22)
    values = [*record_messages(w0, T0, 0.1), GARBAGE, *record_messages(w1, T0 + 60, 0.1, prefix="s"),
              *record_messages(w0[:1], T0 + 1000, prefix="x")]  # the last row closes W1
    offsets = await _produce(bootstrap, topic, values)
    garbage_offset = offsets[len(w0)]
    store = tmp_path / "store"
    cfg = sidecar_config(bootstrap, topic, tmp_path / "contracts", store)
    proc = SidecarProcess(tmp_path, cfg, name="dlq-fault")
    try:
        proc.start()
        proc.wait_for(lambda: proc.metric("model_health_window_end_timestamp_seconds") == T0 + 120, what="W1")
        assert proc.metric("model_health_records_total", result="dead_lettered") == 1
        deadline = asyncio.get_running_loop().time() + 30
        committed = await _committed(admin, cfg["kafka"]["group_id"], topic)
        while committed <= garbage_offset and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)  # polling the broker for the commit the sidecar makes after W1
            committed = await _committed(admin, cfg["kafka"]["group_id"], topic)
        failures = proc.metric("model_health_dead_letter_failures_total", topic=topic,
                               reason="MessageSizeTooLargeError")
        dlq_max = await topic_max_message_bytes(admin, f"{topic}.dlq")
        copies = await _read(bootstrap, f"{topic}.dlq") if dlq_limit is None else []
    finally:
        proc.stop()
        await admin.delete_topics([t for t in (topic, f"{topic}.dlq")])
        await admin.close()
    reports = {r.window_start.timestamp(): r.row_count["actual"] for r in JsonlReportStore(store).read("churn",
                                                                                                    "churn_inputs")}
    return {"topic": topic, "committed": committed, "garbage_offset": garbage_offset, "failures": failures,
            "dlq_max": dlq_max, "reports": reports, "store": store, "log": proc.log(), "copies": copies}


async def _read(bootstrap: str, topic: str) -> list[bytes | None]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None,
                                max_partition_fetch_bytes=LIMIT + 1024 * 1024)
    await consumer.start()
    got: list[bytes | None] = []
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not got and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                got += [r.value for r in records]
    finally:
        await consumer.stop()
    return got


async def test_a_2_mib_bad_record_is_dead_lettered_to_a_topic_made_to_fit(tmp_path: Path,
                                                                          kafka_bootstrap: str) -> None:
    out = await _run(tmp_path, kafka_bootstrap, dlq_limit=None)
    assert out["dlq_max"] == LIMIT, out["log"]  # created at start-up like its source
    assert out["committed"] > out["garbage_offset"], out["log"]
    assert out["reports"] == {T0: 200, T0 + 60: 200}
    assert not out["failures"]
    assert out["copies"] == [GARBAGE]  # the copy arrived whole
    assert f"created dead-letter topic {out['topic']}.dlq" in str(out["log"])


async def test_a_copy_the_dead_letter_topic_refuses_is_quarantined_and_committed_past(
        tmp_path: Path, kafka_bootstrap: str) -> None:
    out = await _run(tmp_path, kafka_bootstrap, dlq_limit=1000)
    assert out["failures"] == 1, out["log"]
    assert out["committed"] > out["garbage_offset"], out["log"]  # no stall: the commit moved on
    assert out["reports"] == {T0: 200, T0 + 60: 200}  # nothing else lost
    kept = Path(out["store"]) / "_quarantine" / str(out["topic"]) / f"0-{out['garbage_offset']}.bin"
    assert kept.read_bytes() == GARBAGE
    log = str(out["log"])
    assert "cannot be delivered" in log and f"{out['topic']}[0]@{out['garbage_offset']}" in log
    assert log.count("cannot be delivered") == 1  # once per reason
