"""The process runtime: the CPUs this process may use, and the allocator and collector settings of the
sidecar's long-running processes.

**CPUs.** A pod limited to one CPU runs on a machine with many: ``os.cpu_count()`` says 16 while the kernel
lets the container use one core's worth of time. The ingest worker process pays off only with a second core to
run on (quick A/B runs on a loaded 2-core machine showed no gain, and it costs about 110 MB of PSS), so
``ingest.worker_process: auto`` asks :func:`available_cpus`.

**Memory.** Every batch allocates column arrays of a few MiB and frees them again. glibc returns freed memory at the
top of the heap to the kernel once more than ``M_TRIM_THRESHOLD`` is free, and serves large requests with
fresh ``mmap`` calls; either way the next batch pays a page fault for every 4 KiB it touches. Measured in
the ingest worker on Arrow batches of 5,000 rows x 68 columns: 1.57 s instead of 2.13 s of CPU per 1M rows
with the thresholds below (8 MiB of retained memory was no better than the defaults; 16 MiB was within 4 %
of 64 MiB). The ingest worker applies them (the main loop keeps glibc's defaults); both processes apply
:func:`tune_gc`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import math
import os
from pathlib import Path

__all__ = ["CGROUP_ROOT", "available_cpus", "cgroup_cpu_limit", "tune_gc", "tune_malloc"]

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Allocations below this come from the heap (reused) instead of their own mmap.
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
#: Free memory at the top of the heap kept for the next batch instead of returned to the kernel.
TRIM_THRESHOLD_BYTES = 16 * 1024 * 1024


def tune_malloc() -> bool:
    """Apply the thresholds through glibc's ``mallopt``; returns False where that is unavailable (e.g. musl)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    ok = bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)) and ok
    if not ok:
        log.debug("mallopt refused the thresholds; keeping the allocator's defaults")
    return ok


def tune_gc() -> None:
    """Freeze what is loaded so far and make generation-0 collections rare (both sidecar processes).

    Everything loaded at start-up (contracts, code, settings) lives as long as the process: frozen, the
    collector no longer rescans it on every collection the per-message objects trigger. Decoding allocates
    dozens of short-lived objects per message; with the default generation-0 threshold (700) the collector
    ran every few messages. Measured: +12 % end to end on column batches.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)

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
