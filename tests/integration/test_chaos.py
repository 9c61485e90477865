"""A short chaos run (issue 9): the sidecar's main process and ingest worker killed with SIGKILL, the
broker stopped and started again, and still every window's rows equal what was produced for it.

``benchmarks/chaos.py`` does the work and starts its own broker: the session's broker (``kafka_bootstrap``)
is shared by every test and may belong to someone else, and this run must stop and restart its broker.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.integration, pytest.mark.timeout(300)]

CHAOS = Path(__file__).resolve().parents[2] / "benchmarks" / "chaos.py"


@pytest.mark.parametrize("partitions", [1, 3])
def test_kills_and_a_broker_restart_lose_and_double_nothing(tmp_path: Path, partitions: int) -> None:
    # With 3 partitions a window must wait for every partition's rows: one partition's backlog, read first
    # after a restart, once closed the windows and dropped the other partitions' rows as late.
    out = tmp_path / "chaos.json"
    run = subprocess.run(
        [sys.executable, str(CHAOS), "--kills", "4", "--broker-restarts", "1", "--duration", "30", "--rate", "300",
         "--seed", "9", "--partitions", str(partitions), "--json", str(out), "--keep-logs", str(tmp_path / "logs")],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=280, check=False,
    )
    assert out.exists(), f"the chaos run did not finish (exit {run.returncode}):\n{run.stderr[-4000:]}"
    result = json.loads(out.read_text())
    detail = f"{run.stdout}\n{run.stderr[-3000:]}"

    # The faults happened: two kills of each process, each on a real pid, and one broker stop and start.
    kinds = Counter(e["kind"] for e in result["events"] if e["pid"])
    assert (kinds["kill main"], kinds["kill worker"]) == (2, 2), detail
    assert (kinds["broker stop"], kinds["broker start"]) == (1, 1), detail
    assert result["sidecar_starts"] >= 3, detail

    # Every produced row is in exactly one report of its window; the flush record's window closed on SIGTERM.
    totals = result["totals"]
    assert totals["acked"] == totals["in_topic"] == 30 * 300 + 1, detail  # 30 s at 300 rows/s, and the flush
    assert (totals["lost"], totals["double_counted"], totals["windows_reported_twice"]) == (0, 0, 0), detail
    assert [w["partial"] for w in result["windows"]] == [False] * (len(result["windows"]) - 1) + [True], detail
    assert run.returncode == 0, detail
    assert result["problems"] == [], detail  # e.g. no sidecar that exited by itself (aiokafka's stop() quirk)
