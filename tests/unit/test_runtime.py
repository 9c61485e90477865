"""Available CPUs from the affinity mask and the cgroup quota, and ``ingest.worker_process: auto``."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar import runtime as cpus
from sidecar.config import IngestSettings, Settings


@pytest.mark.parametrize(("files", "limit"), [
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu.max": "100000 100000\n"}, 1.0),
    ({"cpu.max": "250000 100000\n"}, 2.5),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.5),
    ({}, None),
    ({"cpu.max": "garbage\n"}, None),
])
def test_cgroup_quota(tmp_path: Path, files: dict[str, str], limit: float | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cpus.cgroup_cpu_limit(tmp_path) == limit


def test_available_cpus_is_the_smaller_of_affinity_and_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert cpus.available_cpus(tmp_path) == 4.0  # no quota
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert cpus.available_cpus(tmp_path) == 1.0  # a pod limited to one CPU on a 4-core node
    (tmp_path / "cpu.max").write_text("20000 100000\n")
    assert cpus.available_cpus(tmp_path) == 1.0  # never below one
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda pid: {0})
    (tmp_path / "cpu.max").write_text("400000 100000\n")
    assert cpus.available_cpus(tmp_path) == 1.0  # pinned to one core


@pytest.mark.parametrize(("setting", "available", "expected"), [
    ("auto", 1.0, False), ("auto", 1.5, False), ("auto", 2.0, True), ("auto", 8.0, True),
    (True, 1.0, True), (False, 8.0, False),
])
def test_worker_process_auto(setting: bool | str, available: float, expected: bool) -> None:
    assert IngestSettings(worker_process=setting).use_worker_process(available) is expected


def test_worker_process_defaults_to_auto_and_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"model": "m", "inputs": {"topic": "t", "contract": "c"}}
    assert Settings(**base).ingest.worker_process == "auto"
    monkeypatch.setenv("SIDECAR_INGEST__WORKER_PROCESS", "false")
    assert Settings(**base).ingest.worker_process is False
    with pytest.raises(ValueError):
        IngestSettings(worker_process="sometimes")
