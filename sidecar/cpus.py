"""How many CPUs this process may really use: the scheduler's affinity mask and the cgroup CPU quota.

A pod limited to one CPU runs on a machine with many: ``os.cpu_count()`` says 16 while the kernel lets the
container use one core's worth of time. The ingest worker process pays off only with a second core to run
on (quick A/B runs on a loaded 2-core machine showed no gain, and it costs about 110 MB of PSS), so
``ingest.worker_process: auto`` asks here.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["CGROUP_ROOT", "available_cpus", "cgroup_cpu_limit"]

#: Where the cgroup filesystem is mounted (v2 unified, or v1 with a ``cpu`` controller directory).
CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_cpu_limit(root: Path = CGROUP_ROOT) -> float | None:
    """CPUs' worth of time the cgroup quota allows (``quota / period``), or ``None`` for no limit.

    cgroup v2: ``cpu.max`` holds ``"<quota> <period>"`` or ``"max <period>"``. cgroup v1:
    ``cpu/cpu.cfs_quota_us`` (-1 = none) and ``cpu/cpu.cfs_period_us``. Unreadable files mean no limit known.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "cpu.max").write_text("150000 100000\\n")
    >>> cgroup_cpu_limit(d)
    1.5
    """
    try:
        text = (root / "cpu.max").read_text().split()
    except OSError:
        text = []
    if len(text) == 2:
        quota, period = text
        if quota == "max":
            return None
        return _ratio(quota, period)
    try:
        quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
        period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
    except OSError:
        return None
    return None if quota.startswith("-") else _ratio(quota, period)


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def available_cpus(root: Path = CGROUP_ROOT) -> float:
    """The smaller of the CPUs the process may be scheduled on and the cgroup quota (at least 1)."""
    try:
        cores = float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        cores = float(os.cpu_count() or 1)
    limit = cgroup_cpu_limit(root)
    return max(1.0, min(cores, limit if limit is not None else math.inf))
