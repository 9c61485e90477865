"""A broker outage: the sidecar keeps serving, says so in its metrics, and resumes without loss.

The test runs its own broker (the session's is shared) and freezes it with SIGSTOP, which looks to clients
like a hung or partitioned broker: connections stay open and nothing answers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sidecar_proc import SidecarProcess, get
from traffic import T0, make_contract, produce, record_messages, sidecar_config

from sidecar.demo.data import churn_frame

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

KAFKA_LOCAL = Path(__file__).resolve().parents[2] / "scripts" / "kafka-local"


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


async def test_outage_is_visible_and_nothing_is_lost(tmp_path: Path, own_broker: tuple[str, int]) -> None:
    bootstrap, pid = own_broker
    topic = "outage.inputs"
    make_contract(tmp_path / "contracts")
    await produce(bootstrap, topic, record_messages(churn_frame(400, seed=1), T0))
    proc = SidecarProcess(tmp_path, sidecar_config(bootstrap, topic, tmp_path / "contracts", tmp_path / "r"))
    try:
        proc.start()
        proc.wait_for(lambda: proc.metric("model_health_records_total", result="ok") == 400, what="first batch")
        proc.wait_for(lambda: proc.metric("model_health_kafka_up") == 1, what="kafka_up")
        os.kill(pid, signal.SIGSTOP)
        proc.wait_for(lambda: proc.metric("model_health_kafka_up") == 0, timeout=60, what="kafka_up == 0")
        assert get(proc.url + "/healthz")[0] == 200 and get(proc.url + "/readyz")[0] == 200
        # Frozen past the group's 10 s session timeout on purpose: the member is expelled and must rejoin,
        # the path that once double-counted the open window.
        time.sleep(12)
        assert get(proc.url + "/healthz")[0] == 200
        os.kill(pid, signal.SIGCONT)
        await produce(bootstrap, topic, record_messages(churn_frame(300, seed=2), T0 + 10, prefix="b"))
        proc.wait_for(lambda: proc.metric("model_health_kafka_up") == 1, timeout=60, what="kafka back")
        # A long outage expires the group session: the rejoin replays the open window from the committed
        # offset, so the counter may count rows twice while the window itself holds each row once.
        proc.wait_for(lambda: any(w["rows"] == 700 for s in proc.status()["streams"] for w in s["open_windows"]),
                      timeout=90, what="the window to hold all 700 rows")
        assert (proc.metric("model_health_records_total", result="ok") or 0) >= 700
        assert proc.status()["streams"][0]["open_windows"][0]["rows"] == 700
        assert (proc.metric("model_health_kafka_errors_total", operation="probe") or 0) >= 1
    finally:
        proc.stop()
