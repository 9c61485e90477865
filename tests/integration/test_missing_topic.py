"""A topic that does not exist yet at start-up: the sidecar says it waits for it and consumes within a few
seconds of its creation, with no aiokafka errors in its log (real broker)."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sidecar_proc import SidecarProcess
from traffic import T0, make_contract, produce, record_messages, sidecar_config

from sidecar.demo.data import churn_frame

pytestmark = [pytest.mark.kafka, pytest.mark.integration, pytest.mark.timeout(120)]


async def test_the_sidecar_waits_for_a_missing_topic(tmp_path: Path, kafka_bootstrap: str) -> None:
    topic = f"late-topic-{uuid.uuid4().hex[:10]}"
    make_contract(tmp_path / "contracts")
    cfg = sidecar_config(kafka_bootstrap, topic, tmp_path / "contracts", tmp_path / "store")
    cfg["log_level"] = "INFO"
    proc = SidecarProcess(tmp_path, cfg, name="missing-topic")
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        proc.start()
        proc.wait_for(lambda: f"waiting for topic {topic}" in proc.log(), what="the waiting line")
        assert proc.metric("model_health_kafka_up") == 1  # the broker is fine; only the topic is missing
        await admin.create_topics([NewTopic(topic, 1, 1)], timeout_ms=30_000)
        created = time.monotonic()
        await produce(kafka_bootstrap, topic, record_messages(churn_frame(20, seed=5), T0))
        proc.wait_for(lambda: proc.metric("model_health_records_total", result="ok") == 20, what="records",
                      timeout=30)
        assert time.monotonic() - created < 15  # not aiokafka's minutes-long metadata refresh
        log = proc.log()
        assert "No partition metadata" not in log and "not found in cluster metadata" not in log
    finally:
        proc.stop()
        with contextlib.suppress(Exception):  # the sidecar made <topic>.dlq to fit the topic
            await admin.delete_topics([topic, f"{topic}.dlq"])
        await admin.close()
