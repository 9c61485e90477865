"""Helpers shared by the benchmark scripts: isolated child runs, peak-memory readings, Markdown tables, and
the Kafka broker of the benchmarks that need one.

Every measured configuration runs in a fresh Python process (the script re-invokes itself with a hidden
``--_child`` flag). The child pins itself to one core, builds its input, records the resident set size,
resets the kernel's peak counter, runs the measured step and reads the peak back. "Memory above the loaded
frames" is therefore ``VmHWM - VmRSS`` around exactly that step, unpolluted by imports, frame building or
other configurations measured earlier in the same run.

Linux only (``/proc/self/status``). No dependency beyond the standard library.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CHILD_FLAG",
    "REPO",
    "THREAD_ENV",
    "broker",
    "child_env",
    "delete_topics",
    "fmt_bytes",
    "fmt_pct",
    "fmt_ratio",
    "fmt_seconds",
    "markdown_table",
    "median",
    "memory_status",
    "pin_one_core",
    "release_free_memory",
    "reset_peak",
    "run_child",
    "write_child_result",
]

#: Hidden command-line flag that turns a benchmark script into a measuring child.
CHILD_FLAG = "--_child"

#: Thread-pool sizes forced to one in children, so "one core" holds for BLAS, OpenMP and Arrow as well.
#: OPENBLAS_CORETYPE and other OPENBLAS_* settings of the environment are inherited unchanged.
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "ARROW_NUM_THREADS": "1",  # read by pyarrow when it sizes its CPU pool
}


def child_env() -> dict[str, str]:
    """The parent's environment with every known thread pool limited to one thread."""
    env = dict(os.environ)
    env.update(THREAD_ENV)
    return env


def pin_one_core(cpu: int | None = None) -> int | None:
    """Pin this process to one CPU: ``cpu``, else CPU 0, else the first one it may use.

    Returns the CPU, or ``None`` where affinity is unsupported. Pass another ``cpu`` when something else
    (another benchmark, a broker) keeps CPU 0 busy: a shared core inflates wall-clock times.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if cpu is None:
        cpu = 0 if 0 in allowed else allowed[0]
    elif cpu not in allowed:
        raise ValueError(f"CPU {cpu} is not available to this process; allowed: {allowed}")
    os.sched_setaffinity(0, {cpu})
    return cpu


def memory_status() -> dict[str, int]:
    """``VmRSS`` (resident now) and ``VmHWM`` (peak resident) of this process, in bytes."""
    out: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0]) * 1024  # the kernel reports kB
    return out


def release_free_memory() -> None:
    """Collect garbage and hand freed heap pages back to the kernel (glibc ``malloc_trim``).

    Without this, memory freed while the frame was built stays resident in malloc's arenas and the
    measured step reuses it without raising RSS, so its extra memory would read too low.
    """
    gc.collect()
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        libc = ctypes.CDLL(libc_name)
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)


def reset_peak() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0, ``/proc/self/clear_refs`` value 5).

    Returns ``False`` when the kernel refuses; the peak then also covers whatever ran before.
    """
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    status = memory_status()
    return status["VmHWM"] - status["VmRSS"] < 2**20


def write_child_result(path: str, result: dict[str, Any]) -> None:
    """Hand a child's measurements to the parent (a file, so library output on stdout cannot interfere)."""
    Path(path).write_text(json.dumps(result), encoding="utf-8")


def run_child(script: str | Path, spec: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """Run ``script`` as a measuring child for ``spec`` in a fresh interpreter and return its result dict.

    The child receives ``--_child '<spec json>'`` with ``spec["result_file"]`` set, and must call
    :func:`write_child_result`. A failing child raises ``RuntimeError`` carrying its stderr.
    """
    with tempfile.TemporaryDirectory(prefix="bench-child-") as tmp:
        result_file = os.path.join(tmp, "result.json")
        payload = json.dumps({**spec, "result_file": result_file})
        proc = subprocess.run(
            [sys.executable, str(script), CHILD_FLAG, payload],
            env=child_env(), capture_output=True, text=True, timeout=timeout, check=False,
        )
        if proc.returncode != 0 or not os.path.exists(result_file):
            raise RuntimeError(
                f"benchmark child {spec} failed with exit code {proc.returncode}:\n{proc.stderr[-4000:]}"
            )
        result: dict[str, Any] = json.loads(Path(result_file).read_text(encoding="utf-8"))
        return result


def median(values: Iterable[float]) -> float:
    """Median of ``values`` (NaN when empty)."""
    vals = list(values)
    return statistics.median(vals) if vals else float("nan")


def fmt_seconds(s: float) -> str:
    """``0.123 s`` / ``12.3 ms`` style."""
    if s != s:  # NaN
        return "n/a"
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.3f} s"


def fmt_bytes(n: float) -> str:
    """Mebibytes with one decimal (``-`` for NaN)."""
    if n != n:
        return "n/a"
    return f"{n / 2**20:.1f} MiB"


def fmt_pct(x: float) -> str:
    """A share as a percentage with one decimal."""
    return "n/a" if x != x else f"{100 * x:.1f} %"


def fmt_ratio(x: float) -> str:
    """``1.23x``."""
    return "n/a" if x != x else f"{x:.2f}x"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub-flavoured Markdown table; ``align`` holds one ``l``/``r`` per column (default: first left)."""
    rows = [[str(c) for c in r] for r in rows]
    if align is None:
        align = "l" + "r" * (len(headers) - 1)
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(cells, widths, align, strict=True)]
        return "| " + " | ".join(padded) + " |"

    marks = [("-" * (w + 1) + ":") if a == "r" else (":" + "-" * (w + 1)) for w, a in zip(widths, align, strict=True)]
    rule = "|" + "|".join(marks) + "|"
    return "\n".join([line([str(h) for h in headers]), rule, *(line(r) for r in rows)])


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (the sidecar's ingest worker), from ``/proc/<pid>/task/*/children``."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found += [int(c) for c in f.read().split()]
    return found


REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def broker(bootstrap: str | None, prefix: str = "bench-kafka-") -> Iterator[str]:
    """The given broker, or one started with scripts/kafka-local and always stopped."""
    if bootstrap:
        yield bootstrap
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as state:
        script = [sys.executable, str(REPO / "scripts" / "kafka-local")]
        res = subprocess.run([*script, "start", "--state-dir", state], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, check=False, timeout=180)
        try:
            if res.returncode != 0:
                raise RuntimeError(f"kafka-local start failed:\n{res.stderr}")
            yield res.stdout.strip().splitlines()[-1]
        finally:
            subprocess.run([*script, "stop", "--state-dir", state], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, check=False, timeout=60)


async def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes, int | None]],
                  max_request_size: int = 1 << 20) -> int:
    """Send ``(key, value, timestamp_ms)`` records in order to partition 0 of ``topic`` and wait for every
    acknowledgement; returns how many were sent."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_request_size=max_request_size,
                                max_batch_size=1 << 20)
    await producer.start()
    n = 0
    try:
        pending: list[asyncio.Future[Any]] = []
        for key, value, timestamp_ms in records:
            pending.append(await producer.send(topic, value, key=key, partition=0, timestamp_ms=timestamp_ms))
            n += 1
            if len(pending) >= 10_000:  # bounded memory for the futures of millions of sends
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return n


async def delete_topics(bootstrap: str, topics: list[str]) -> None:
    """Delete ``topics`` (clean-up only: a failure is printed, not raised)."""
    from aiokafka.admin import AIOKafkaAdminClient

    if not topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(topics)
    except Exception as exc:  # cleanup only
        print(f"(could not delete topics: {exc})", file=sys.stderr)
    finally:
        await admin.close()
