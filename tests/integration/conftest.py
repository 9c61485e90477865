"""Fixtures that give integration tests one real Kafka broker per session.

The broker is Apache Kafka 3.9.1 run by ``scripts/kafka-local`` (jars from Maven Central, no Docker; its
docstring says how). One broker per session because the machines have 2 cores and a broker takes a
few seconds to start. When ``KAFKA_BOOTSTRAP_SERVERS`` is set (``scripts/kafka-local run-with``, CI,
or a developer's own broker) that broker is used and left alone; otherwise the session starts its own
in a temporary state directory and always stops it.

Tests share the broker, so every test gets its own topics from the ``kafka_topic`` factory.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

KAFKA_LOCAL = Path(__file__).resolve().parents[2] / "scripts" / "kafka-local"
KAFKA_FIXTURES = {"kafka_broker", "kafka_bootstrap", "kafka_state_dir", "kafka_topic"}


@dataclass(frozen=True)
class KafkaBroker:
    """Where the session's broker listens; ``state_dir`` is None when the broker is not ours."""

    bootstrap: str
    state_dir: Path | None


class TopicFactory(Protocol):
    """``await kafka_topic(partitions=3)`` -> a fresh topic name whose partitions all have leaders."""

    async def __call__(self, partitions: int = 1) -> str: ...


def kafka_local(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run the script with this interpreter, so its readiness check can use the venv's aiokafka too."""
    return subprocess.run(
        [sys.executable, str(KAFKA_LOCAL), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def _wait_for_cluster(bootstrap: str, timeout: float) -> None:
    """Short readiness check for a broker we did not start: it must answer describe_cluster."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
        try:
            await admin.start()
            if (await admin.describe_cluster()).get("brokers"):
                return
        except Exception:
            if loop.time() > deadline:
                raise
        finally:
            await admin.close()
        await asyncio.sleep(0.5)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test using the broker ``kafka`` so ``-m "not kafka"`` skips them even if unmarked."""
    for item in items:
        if KAFKA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """The session's broker: the one named by ``KAFKA_BOOTSTRAP_SERVERS``, else one started here."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if given:
        try:
            asyncio.run(asyncio.wait_for(_wait_for_cluster(given, 30.0), 40.0))
        except Exception as exc:
            pytest.fail(f"KAFKA_BOOTSTRAP_SERVERS={given} does not answer describe_cluster: {exc!r}")
        yield KafkaBroker(bootstrap=given, state_dir=None)
        return

    state_dir = tmp_path_factory.mktemp("kafka-local")
    try:
        started = kafka_local("start", "--state-dir", str(state_dir), timeout=300)
        if started.returncode != 0:
            pytest.fail(f"scripts/kafka-local start failed:\n{started.stderr}")
        bootstrap = started.stdout.strip().splitlines()[-1]
        yield KafkaBroker(bootstrap=bootstrap, state_dir=state_dir)
    finally:
        kafka_local("stop", "--state-dir", str(state_dir), timeout=60)


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker) -> str:
    """``"127.0.0.1:PORT"`` of the session's broker, for ``bootstrap_servers=``."""
    return kafka_broker.bootstrap


@pytest.fixture(scope="session")
def kafka_state_dir(kafka_broker: KafkaBroker) -> Path | None:
    """The ``--state-dir`` of a broker this session started, None for one from the environment."""
    return kafka_broker.state_dir


@pytest.fixture
async def kafka_topic(kafka_bootstrap: str, request: pytest.FixtureRequest) -> AsyncIterator[TopicFactory]:
    """Factory for uniquely named topics (the broker is shared), deleted again after the test."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    created: list[str] = []
    # The test's name in the topic name makes broker logs and leftovers traceable to a test.
    prefix = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:80]

    async def create(partitions: int = 1) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        response = await admin.create_topics([NewTopic(name, partitions, 1)], timeout_ms=30_000)
        errors = [(t, code, msg) for t, code, msg, *_ in response.topic_errors if code != 0]
        assert not errors, f"create_topics failed: {errors}"
        created.append(name)
        await _wait_for_leaders(admin, name, partitions)
        return name

    try:
        yield create
    finally:
        if created:
            try:
                await admin.delete_topics(created, timeout_ms=30_000)
            except Exception as exc:  # cleanup only: a leftover topic on a throwaway broker is harmless
                print(f"kafka_topic: could not delete {created}: {exc!r}", file=sys.stderr)
        await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, topic: str, partitions: int) -> None:
    """create_topics returns once the controller accepted the topic; clients need elected leaders."""
    async with asyncio.timeout(30):
        while True:
            described = await admin.describe_topics([topic])
            parts = described[0]["partitions"] if described and described[0]["error_code"] == 0 else []
            if len(parts) == partitions and all(p["leader"] >= 0 for p in parts):
                return
            await asyncio.sleep(0.1)
