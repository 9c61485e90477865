"""`make demo`'s two parts, run the way the Makefile runs them (the stream part against the real broker)."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sidecar import DataContract, Status
from sidecar.demo.batch import run as run_batch

ROOT = Path(__file__).resolve().parents[2]


def test_batch_demo_reports_the_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run_batch(tmp_path)
    out = capsys.readouterr().out
    assert report.status is Status.CRITICAL
    assert "distribution" in out and "monthly_spend" in out
    assert (tmp_path / "contracts" / "churn_inputs" / "v1.json").exists()
    html = (tmp_path / "report.html").read_text()
    assert "uPlot" in html and "monthly_spend" in html and "report.html" in out
    # The spec it writes builds the same contract from the same reference.
    from sidecar.demo.batch import load_bundled

    spec = tmp_path / "churn_inputs.spec.yaml"
    again = DataContract.from_spec(load_bundled("churn_reference"), spec)
    assert again.save(tmp_path / "contracts") == tmp_path / "contracts" / "churn_inputs" / "v1.json"


@pytest.mark.kafka
@pytest.mark.timeout(240)
def test_stream_demo_shows_healthy_then_drift(tmp_path: Path, kafka_bootstrap: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sidecar.demo", "stream", "--bootstrap", kafka_bootstrap, "--duration", "40",
         "--drift-after", "12", "--concept-drift-after", "20", "--window", "5", "--rate", "150",
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=200, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if "window ending" in line and "churn_inputs" in line]
    assert lines, proc.stdout
    assert "CRITICAL" not in lines[0]  # before the drift (a small first window may show sampling noise)
    assert any("CRITICAL" in line and "distribution:" in line for line in lines[1:]), proc.stdout
    assert "/metrics" in proc.stdout
    # The joiner's accuracy: the model's own level before the concept drift, far lower after it, while the
    # estimate from the scores alone stays (CBPE cannot see a change of the label relationship).
    accuracy = [tuple(float(x) for x in m.groups()) for m in
                re.finditer(r"accuracy realized ([0-9.]+)\s+estimated ([0-9.]+)", proc.stdout)]
    assert accuracy, proc.stdout
    assert accuracy[0][0] > 0.6 and min(a for a, _ in accuracy) < 0.55, accuracy
    assert all(e > 0.6 for _, e in accuracy), accuracy


class _Demo:
    """The stream demo as a child process, its stdout read line by line so a test can wait on a line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "sidecar.demo", "stream", *args], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            self.seen.append(line)
            if m := re.search(pattern, line):
                return m
        self.proc.kill()
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; stdout so far:\n{''.join(self.seen)}")

    def finish(self, timeout: float) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()


def _processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text`` (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid not in _processes_mentioning(""):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_stream_demo_stops_with_a_message_when_its_sidecar_dies(tmp_path: Path, kafka_bootstrap: str) -> None:
    demo = _Demo("--bootstrap", kafka_bootstrap, "--duration", "300", "--window", "5", "--out", str(tmp_path))
    pid = int(demo.wait_for(r"sidecar:\s+pid (\d+)", 90).group(1))
    os.kill(pid, signal.SIGKILL)
    code, err = demo.finish(60)
    assert code == 1, err
    assert "the sidecar exited with code -9; the demo stops" in err
    assert not _processes_mentioning(str(tmp_path))


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_sigterm_while_running_stops_the_demo_and_its_sidecar(tmp_path: Path, kafka_bootstrap: str) -> None:
    demo = _Demo("--bootstrap", kafka_bootstrap, "--duration", "300", "--window", "5", "--out", str(tmp_path))
    pid = int(demo.wait_for(r"sidecar:\s+pid (\d+)", 90).group(1))
    demo.proc.send_signal(signal.SIGTERM)
    code, err = demo.finish(60)
    assert code == 0, err
    assert _wait_gone(pid, 5) and not _processes_mentioning(str(tmp_path))


@pytest.mark.kafka
@pytest.mark.timeout(240)
def test_sigterm_while_its_broker_starts_leaves_nothing_running(tmp_path: Path) -> None:
    # No --bootstrap: the demo starts its own broker under tmp_path/kafka and must stop it.
    demo = _Demo("--duration", "300", "--window", "5", "--out", str(tmp_path))
    demo.wait_for(r"starting local Kafka", 60)
    deadline = time.monotonic() + 60

    def java() -> list[int]:  # the storage formatter or the broker: JVMs naming the state directory
        return [p for p in _processes_mentioning(str(tmp_path / "kafka")) if p in _processes_mentioning("java")]

    while not java() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert java(), "the demo never started a JVM for its broker"
    demo.proc.send_signal(signal.SIGTERM)
    code, err = demo.finish(90)
    assert code == 0, err
    assert not _processes_mentioning(str(tmp_path)), "the demo left a process running"
