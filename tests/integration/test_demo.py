"""`make demo`'s two parts, run the way the Makefile runs them (the stream part against the real broker)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sidecar import Status
from sidecar.demo.batch import run as run_batch

ROOT = Path(__file__).resolve().parents[2]


def test_batch_demo_reports_the_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run_batch(tmp_path)
    out = capsys.readouterr().out
    assert report.status is Status.CRITICAL
    assert "distribution" in out and "monthly_spend" in out
    assert (tmp_path / "contracts" / "churn_inputs" / "v1.json").exists()


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_stream_demo_shows_healthy_then_drift(tmp_path: Path, kafka_bootstrap: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sidecar.demo", "stream", "--bootstrap", kafka_bootstrap, "--duration", "28",
         "--drift-after", "12", "--window", "5", "--rate", "150", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=150, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if "window ending" in line and "churn_inputs" in line]
    assert lines, proc.stdout
    assert "CRITICAL" not in lines[0]  # before the drift (a small first window may show sampling noise)
    assert any("CRITICAL" in line and "distribution:" in line for line in lines[1:]), proc.stdout
    assert "/metrics" in proc.stdout
