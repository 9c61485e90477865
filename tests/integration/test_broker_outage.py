"""A broker outage: the sidecar keeps serving, says so in its metrics, and resumes without loss.

The test runs its own broker (the session's is shared) and freezes it with SIGSTOP, which looks to clients
like a hung or partitioned broker: connections stay open and nothing answers.

The outage also outlasts the consumer group's session, so the broker expels the sidecar's member and the
sidecar must rejoin and replay its open window without counting a row twice (the path that once did).
Freezing the broker for longer than the session timeout does not make that happen reliably: on waking,
the broker may answer the heartbeat that waited in its socket before it expires the session, and keep
the member. So the sidecar is frozen too before the broker wakes: the broker then hears nothing more from
it and expels it after the session timeout, which the test sees in the group's description, and only
then is the sidecar woken. To the sidecar this is one long outage after which the broker no longer knows
it. Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sidecar_proc import SidecarProcess, get
from traffic import T0, make_contract, produce, record_messages, sidecar_config

from sidecar.demo.data import churn_frame

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

KAFKA_LOCAL = Path(__file__).resolve().parents[2] / "scripts" / "kafka-local"

T = TypeVar("T")


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[str, int]]:
    state = tmp_path / "kafka"
    out = subprocess.run([sys.executable, str(KAFKA_LOCAL), "start", "--state-dir", str(state)], check=True,
                         capture_output=True, text=True, timeout=120)
    pid = int((state / "pid").read_text().strip())
    try:
        yield out.stdout.strip().splitlines()[-1], pid
    finally:
        os.kill(pid, signal.SIGCONT)
        subprocess.run([sys.executable, str(KAFKA_LOCAL), "stop", "--state-dir", str(state)], check=False,
                       capture_output=True, timeout=60)


async def _group_members(bootstrap: str, group: str) -> list[str] | None:
    """Member ids of ``group`` as its coordinator sees them; None while it cannot say (just woken)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
    try:
        await admin.start()
        responses = await admin.describe_consumer_groups([group])
    except KafkaError as exc:
        if exc.retriable:
            return None
        raise
    finally:
        await admin.close()
    (described,) = [g for r in responses for g in r.to_object()["groups"]]
    if described["error_code"]:
        return None
    return sorted(m["member_id"] for m in described["members"])


async def _wait_until(probe: Callable[[], Awaitable[T | None]], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        got = await probe()
        if got is not None:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_outage_is_visible_and_nothing_is_lost(tmp_path: Path, own_broker: tuple[str, int]) -> None:
    bootstrap, broker = own_broker
    topic = "outage.inputs"
    make_contract(tmp_path / "contracts")
    await produce(bootstrap, topic, record_messages(churn_frame(400, seed=1), T0))
    config = sidecar_config(bootstrap, topic, tmp_path / "contracts", tmp_path / "r")
    group = config["kafka"]["group_id"]
    proc = SidecarProcess(tmp_path, config)

    async def sole_member(other_than: str | None = None) -> str | None:
        members = await _group_members(bootstrap, group)
        return members[0] if members is not None and len(members) == 1 and members[0] != other_than else None

    async def no_member() -> bool | None:
        return True if await _group_members(bootstrap, group) == [] else None

    try:
        proc.start()
        assert proc.proc is not None
        proc.wait_for(lambda: proc.metric("model_health_records_total", result="ok") == 400, what="first batch")
        proc.wait_for(lambda: proc.metric("model_health_kafka_up") == 1, what="kafka_up")
        before = await _wait_until(sole_member, timeout=30, what="the sidecar to be the group's one member")
        os.kill(broker, signal.SIGSTOP)
        proc.wait_for(lambda: proc.metric("model_health_kafka_up") == 0, timeout=60, what="kafka_up == 0")
        assert get(proc.url + "/healthz")[0] == 200 and get(proc.url + "/readyz")[0] == 200
        # The session expires while neither side hears from the other.
        os.kill(proc.proc.pid, signal.SIGSTOP)
        try:
            os.kill(broker, signal.SIGCONT)
            await _wait_until(no_member, timeout=60, what="the broker to expel the silent member")
        finally:
            os.kill(proc.proc.pid, signal.SIGCONT)
        assert get(proc.url + "/healthz")[0] == 200
        await produce(bootstrap, topic, record_messages(churn_frame(300, seed=2), T0 + 10, prefix="b"))
        proc.wait_for(lambda: proc.metric("model_health_kafka_up") == 1, timeout=60, what="kafka back")
        await _wait_until(lambda: sole_member(other_than=before), timeout=60,
                          what="the sidecar to rejoin the group as a new member")
        # The rejoin replays the open window from the committed offset, so the counter may count rows twice
        # while the window itself holds each row once.
        proc.wait_for(lambda: any(w["rows"] == 700 for s in proc.status()["streams"] for w in s["open_windows"]),
                      timeout=90, what="the window to hold all 700 rows")
        assert (proc.metric("model_health_records_total", result="ok") or 0) >= 700
        assert proc.status()["streams"][0]["open_windows"][0]["rows"] == 700
        assert (proc.metric("model_health_kafka_errors_total", operation="probe") or 0) >= 1
    finally:
        proc.stop()
