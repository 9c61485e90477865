"""``sidecar join`` against the real local Kafka: joins across time, a kill -9, orphans and duplicates."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sidecar_proc import SIDECAR, SidecarProcess, get

from sidecar.performance.production import get_production_metrics

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]


class JoinProcess(SidecarProcess):
    """``sidecar join --config <file>``; its own /metrics and /healthz on a free loopback port."""

    def __init__(self, tmp: Path, config: dict[str, Any], name: str = "join") -> None:
        super().__init__(tmp, config, name)
        config = {**config, "join": {**config["join"], "http": {"host": "127.0.0.1", "port": self.port}}}
        self.config_path.write_text(yaml.safe_dump(config))

    def start(self, timeout: float = 60.0) -> JoinProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}
        self.proc = subprocess.Popen([str(SIDECAR), "join", "--config", str(self.config_path)],
                                     stdout=log, stderr=subprocess.STDOUT, env=env)
        self.wait_for(lambda: _up(self.url + "/healthz"), timeout, "the joiner's /healthz")
        return self

    def events(self, event: str) -> float:
        return self.metric("model_health_join_events_total", event=event) or 0.0


def _up(url: str) -> bool:
    try:
        return get(url, timeout=1)[0] == 200
    except OSError:
        return False


def config(tmp: Path, bootstrap: str, predictions: str, outcomes: str, **join: Any) -> dict[str, Any]:
    return {
        "model": "churn",
        "kafka": {"bootstrap_servers": bootstrap, "group_id": f"join-{predictions}"},
        "alerts": {"topic": None},
        "store": {"path": str(tmp / "store")},
        "join": {"predictions_topic": predictions, "outcomes_topic": outcomes, "min_pairs": 1,
                 "sweep_seconds": 0.5, "session_timeout_seconds": 6, "data_dir": str(tmp / "faust"), **join},
    }


async def send(bootstrap: str, topic: str, request_id: str, **fields: Any) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        body = {"request_id": request_id, **fields}
        await producer.send_and_wait(topic, json.dumps(body).encode(), key=request_id.encode())
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str, topic: str) -> int:
    """The group's committed offset on partition 0 of ``topic`` (0 when none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return max((meta.offset for tp, meta in offsets.items() if tp.topic == topic), default=0)


async def wait_until(predicate: Any, timeout: float, what: str, proc: JoinProcess) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}:\n{proc.log()[-4000:]}")


async def test_pair_ten_seconds_apart_duplicate_and_orphan(tmp_path: Path, kafka_bootstrap: str,
                                                           kafka_topic: Any) -> None:
    predictions, outcomes = await kafka_topic(), await kafka_topic()
    joiner = JoinProcess(tmp_path, config(tmp_path, kafka_bootstrap, predictions, outcomes, ttl_seconds=30))
    try:
        await asyncio.to_thread(joiner.start)
        sent = time.time()
        await send(kafka_bootstrap, predictions, "r1", timestamp=sent, score=0.8)
        await wait_until(lambda: joiner.metric("model_health_join_pending", kind="prediction") == 1, 60,
                         "the prediction to wait", joiner)
        # The outcome arrives 10 s after the prediction (the scenario, not a wait for a condition).
        await asyncio.sleep(max(0.0, sent + 10 - time.time()))
        await send(kafka_bootstrap, outcomes, "r1", timestamp=time.time(), label=1)
        await send(kafka_bootstrap, outcomes, "r1", timestamp=time.time(), label=1)  # delivered twice
        # An outcome for an id never predicted, old enough that the TTL has passed: orphaned.
        await send(kafka_bootstrap, outcomes, "ghost", timestamp=time.time() - 60, label=0)
        await wait_until(lambda: joiner.events("joined") == 1 and joiner.events("duplicate_outcome") == 1
                         and joiner.events("orphaned") == 1, 60, "join, duplicate and orphan", joiner)
        assert joiner.metric("model_health_production_metric", metric="accuracy") == 1.0
        assert joiner.metric("model_health_label_coverage") == 1.0
        delay = joiner.metric("model_health_label_delay_seconds", quantile="p50")
        assert delay is not None and 10.0 <= delay < 30.0
        assert joiner.events("joined") == 1
        stored = get_production_metrics("accuracy", model="churn", store=tmp_path / "store")
        assert [v for _t, v in stored] == [1.0]
    finally:
        joiner.stop()


async def test_kill9_between_prediction_and_outcome_joins_once(tmp_path: Path, kafka_bootstrap: str,
                                                               kafka_topic: Any) -> None:
    predictions, outcomes = await kafka_topic(), await kafka_topic()
    settings = config(tmp_path, kafka_bootstrap, predictions, outcomes, store="rocksdb")
    first = JoinProcess(tmp_path, settings, name="first")
    second = JoinProcess(tmp_path, settings, name="second")
    try:
        await asyncio.to_thread(first.start)
        await send(kafka_bootstrap, predictions, "r1", timestamp=time.time(), score=0.3)
        await wait_until(lambda: first.metric("model_health_join_pending", kind="prediction") == 1, 60,
                         "the prediction to wait", first)
        # Once its offset is committed the restarted joiner will not read the prediction again: it can
        # know it only from the recovered table.
        group = f"join-{predictions}-join"
        deadline = time.monotonic() + 30
        while await committed(kafka_bootstrap, group, predictions) < 1:
            assert time.monotonic() < deadline, f"offset never committed:\n{first.log()[-4000:]}"
            await asyncio.sleep(0.2)
        first.kill9()
        await asyncio.to_thread(second.start)
        await wait_until(lambda: second.metric("model_health_join_pending", kind="prediction") == 1, 90,
                         "the restarted joiner to recover the waiting prediction", second)
        await send(kafka_bootstrap, outcomes, "r1", timestamp=time.time(), label=0)
        # The counter moves as the pair is made, the window's gauges at the next sweep.
        await wait_until(lambda: second.events("joined") == 1 and second.metric("model_health_label_coverage") == 1,
                         60, "the pair and its window", second)
        assert second.metric("model_health_join_pending", kind="prediction") == 0
        stored = get_production_metrics("label_coverage", model="churn", store=tmp_path / "store")
        assert [v for _t, v in stored] == [1.0]
        assert second.events("joined") == 1
        assert second.events("prediction") == 0  # recovered from the table, not read again
    finally:
        first.stop()
        second.stop()
