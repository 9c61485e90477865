"""Chaos run (issue 9, "Must hold"): the sidecar killed again and again, the broker restarted, every window
checked row for row.

What it does
------------
1. Starts its own broker with ``scripts/kafka-local`` (127.0.0.1 only, a temporary state directory),
   creates the topic and saves the churn demo contract (``churn_frame(5000, seed=1)``).
2. A producer (aiokafka, ``acks=all``, idempotent) sends ``record``-format messages at a steady ``--rate``
   for ``--duration`` seconds. Row ``i`` has request id ``c<i>`` and event time ``t0 + (i + 0.5) / rate``
   (``t0`` a whole second, so no row sits on a window boundary): event time advances with wall time at a
   steady rate whatever happens to the broker. Every acknowledgement is logged with its offset. While the
   broker is down, sends wait in the producer and go out in order when it is back, so event time stays
   in order in the topic and no row is late by construction.
3. Runs ``sidecar run --config FILE`` (ingest worker on, ``--window`` s windows, ``--lateness`` s
   lateness, a report store directory) and, at seeded random moments, SIGKILLs either its main process
   (then starts it again at once, as Kubernetes would) or its ingest worker (the sidecar starts a new one
   itself): ``--kills`` in all, half of each. ``--broker-restarts`` times, the broker is stopped (SIGTERM;
   its process exits), left down ``--broker-down`` seconds and started again on the same ports and data
   directory, so the topic and the committed offsets survive. (``kafka-local stop`` deletes the data, so
   this script signals the broker itself and starts the same command line again.)
4. Afterwards: production stops; one "flush" record far ahead in event time closes every data window;
   the script waits until the last data window is reported, then stops the sidecar with SIGTERM (the
   flush record's own window closes as partial and is compared like the others).
5. For every window it compares the rows of its report(s) in the store
   (``JsonlReportStore(path).read(model, contract)``) with the acknowledged rows whose event time falls in it,
   and reads the topic back to check that it holds exactly the acknowledged rows.

Prints a Markdown table per window (acknowledged, in the topic, reported, difference, reports, partial,
faults injected while the window was current) with totals, and the fault schedule that actually happened.
Exit 0 only if no row is lost, none is counted twice and no window is reported twice; 1 otherwise; 2 if
the run itself could not be carried out.

Usage::

    .venv/bin/python benchmarks/chaos.py                       # 20 kills, 2 broker restarts: about 3 min
    .venv/bin/python benchmarks/chaos.py --kills 4 --broker-restarts 1 --duration 30   # about 45 s
    .venv/bin/python benchmarks/chaos.py --partitions 3        # rows round robin over 3 partitions
    .venv/bin/python benchmarks/chaos.py --at HEAD --json chaos.json

``--at REV`` runs the sidecar (and this script's imports of it) from ``git archive REV`` instead of the
working tree, so edits in progress in a shared checkout cannot change the code under test mid-run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.machinery
import importlib.util
import io
import json
import logging
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from _common import children, markdown_table

REPO = Path(__file__).resolve().parents[1]
KAFKA_LOCAL = REPO / "scripts" / "kafka-local"
SIDECAR = Path(sys.executable).parent / "sidecar"
MODEL = "churn"
CONTRACT = "churn_inputs"
TOPIC = "chaos.inputs"
#: Seconds after the start before the first fault, and before the end after the last one.
WARMUP, TAIL = 8.0, 6.0


def stamp(t: float) -> str:
    """Local wall time as the sidecar's log prints it (``%(asctime)s``), for finding events in its log."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f",{int(t % 1 * 1000):03d}"


async def until(predicate: Callable[[], Any], timeout: float, every: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value or None
        await asyncio.sleep(every)


# -- the code under test ------------------------------------------------------------------------------
def use_revision(rev: str, directory: Path) -> str:
    """Extract ``sidecar/`` of ``rev`` into ``directory`` and put it first on the import path (here and
    for the sidecar processes, through ``PYTHONPATH``); returns the commit."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                            capture_output=True, text=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", commit, "sidecar"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    sys.path.insert(0, str(directory))
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(directory), os.environ.get("PYTHONPATH")) if p)
    return commit


# -- the broker ---------------------------------------------------------------------------------------
def kafka_local() -> ModuleType:
    """``scripts/kafka-local`` as a module: its broker command line and readiness probe, reused for
    restarts."""
    loader = importlib.machinery.SourceFileLoader("kafka_local", str(KAFKA_LOCAL))
    spec = importlib.util.spec_from_loader("kafka_local", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["kafka_local"] = module  # its dataclasses look their module up while being defined
    loader.exec_module(module)
    return module


class Broker:
    """A kafka-local broker that can be stopped and started again on the same ports and data directory."""

    def __init__(self, state_dir: Path) -> None:
        self.kl = kafka_local()
        self.state = self.kl.state_for(str(state_dir))
        self.bootstrap = ""
        # A restart runs in a thread: it must not start a broker once destroy() has begun.
        self._lock = threading.Lock()
        self._closed = False

    def start(self, timeout: float = 120.0) -> str:
        self.bootstrap, _ = self.kl.start(str(self.state.root), None, None, timeout)
        return self.bootstrap

    @property
    def pid(self) -> int | None:
        pid: int | None = self.state.running_pid()
        return pid

    def stop(self, timeout: float = 30.0) -> tuple[int, float]:
        """SIGTERM the broker and wait until its process is gone (SIGKILL after ``timeout``)."""
        pid = self.pid
        if pid is None:
            raise RuntimeError("the broker is not running")
        started = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        while self.kl.pid_alive(pid):
            if time.monotonic() - started > timeout:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        return pid, time.monotonic() - started

    def restart(self, timeout: float = 90.0) -> tuple[int, float]:
        """The same command line over the same ``server.properties``; waits until it serves again."""
        kl, state = self.kl, self.state
        started = time.monotonic()
        why = "not started"
        while time.monotonic() - started < timeout:
            with self._lock, open(state.log_file, "ab") as log:
                if self._closed:
                    raise RuntimeError("the broker was destroyed meanwhile")
                proc = subprocess.Popen(kl.broker_command(kl.java_binary(), kl.lib_dir(), state),
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        cwd=state.root, start_new_session=True)
                state.pid_file.write_text(f"{proc.pid}\n")  # so that kafka-local's stop finds it at the end
            ok, why = kl.wait_ready(self.bootstrap, started + timeout, proc)
            if ok:
                return proc.pid, time.monotonic() - started
            if proc.poll() is None:
                break
            time.sleep(1.0)  # exited at once (the port still held): try again until the deadline
        raise RuntimeError(f"the broker did not come back: {why}\n{kl.log_summary(state)}")

    def destroy(self) -> None:
        with self._lock:
            self._closed = True
            self.kl.stop(str(self.state.root))


# -- the sidecar --------------------------------------------------------------------------------------


def is_worker(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return b"sidecar.stream.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class Sidecar:
    """``sidecar run --config FILE``, started again after every kill of its main process."""

    def __init__(self, workdir: Path, settings: dict[str, Any]) -> None:
        import yaml

        self.port = int(settings["http"]["port"])
        self.config = workdir / "sidecar.yaml"
        self.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        self.log_path = workdir / "sidecar.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> int:
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"=== chaos: start {self.starts} at {stamp(time.time())} ===\n".encode())
            log.flush()
            self.proc = subprocess.Popen([str(SIDECAR), "run", "--config", str(self.config)], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env)
        return self.proc.pid

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def worker(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None
        return next((c for c in children(self.proc.pid) if is_worker(c)), None)

    def kill_main(self) -> tuple[int, int | None]:
        """SIGKILL the main process (returns its pid and its worker's); does not yield to the event loop,
        so the supervisor never sees the gap before :meth:`start`."""
        assert self.proc is not None
        pid, worker = self.proc.pid, self.worker()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        return pid, worker

    def terminate(self, timeout: float = 30.0) -> tuple[int | None, float]:
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code: int | None = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            code = None
        return code, time.monotonic() - started

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def sidecar_settings(args: argparse.Namespace, bootstrap: str, contracts: Path, store: Path,
                     port: int) -> dict[str, Any]:
    return {
        "model": MODEL,
        "kafka": {"bootstrap_servers": bootstrap, "group_id": f"chaos-{args.seed}"},
        "inputs": {"topic": TOPIC, "contract": str(contracts / CONTRACT), "format": "auto"},
        "window": {"size_seconds": args.window, "lateness_seconds": args.lateness, "min_rows": args.min_rows,
                   "partition_idle_seconds": args.partition_idle},
        "ingest": {"worker_process": True},
        "http": {"host": "127.0.0.1", "port": port},
        "store": {"path": str(store)},
    }


# -- the plan and what happened -----------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """Seeded fault times, in seconds after production started."""

    kills: list[tuple[float, str]]  # (at, "main" | "worker")
    outages: list[float]

    @classmethod
    def draw(cls, seed: int, kills: int, outages: int, duration: float, down: float) -> Plan:
        rng = random.Random(seed)
        lo, hi = WARMUP, max(duration - TAIL, WARMUP + 1)
        kinds = ["main"] * (kills // 2) + ["worker"] * (kills // 2) + [rng.choice(["main", "worker"])] * (kills % 2)
        rng.shuffle(kinds)
        times = sorted(rng.uniform(lo, hi) for _ in range(kills))
        # One outage per equal part of the run, starting early enough in it to be back before the next.
        span = (hi - lo) / max(outages, 1)
        starts = [rng.uniform(lo + j * span, lo + j * span + max(span - down - 10, 0)) for j in range(outages)]
        return cls(list(zip(times, kinds, strict=True)), starts)


@dataclass
class Event:
    """One fault as it happened."""

    label: str  # K3, B1
    kind: str  # kill main, kill worker, broker stop, broker start, sidecar exit
    at: float  # seconds after production started
    wall: float  # epoch seconds
    pid: int | None
    detail: str = ""


@dataclass
class Run:
    """Everything observed, for the tables and ``--json``."""

    events: list[Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    t0: float = 0.0  # epoch of production start (a whole second)

    def add(self, label: str, kind: str, pid: int | None, detail: str = "", when: float | None = None) -> Event:
        now = time.time() if when is None else when
        event = Event(label, kind, round(now - self.t0, 2), now, pid, detail)
        self.events.append(event)
        print(f"  {event.at:7.2f}s  {label:<4} {kind:<13} pid {pid}  {detail}", file=sys.stderr, flush=True)
        return event


# -- the producer -------------------------------------------------------------------------------------
class Producer:
    """Steady-rate ``record`` messages; a ledger of what the broker acknowledged, with event times."""

    def __init__(self, bootstrap: str, rate: float, partitions: int, pool: list[dict[str, Any]], t0: float) -> None:
        self.bootstrap, self.rate, self.partitions, self.pool, self.t0 = bootstrap, rate, partitions, pool, t0
        self.acked: dict[str, tuple[float, int, int]] = {}  # request id -> (event time, partition, offset)
        self.failed: list[tuple[str, str]] = []  # (request id, error) of deliveries that failed
        self.resend: list[tuple[str, float, int, int]] = []  # (request id, event time, partition, pool row)
        self.enqueue_retries = 0
        self.sent = 0
        self.last_ts = 0.0
        self._producer: Any = None

    async def start(self) -> None:
        from aiokafka import AIOKafkaProducer

        # Deliveries wait out a broker outage inside the producer (request_timeout_ms bounds it) and are
        # retried without duplicates (idempotence), in order.
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True,
                                          linger_ms=5, request_timeout_ms=120_000, retry_backoff_ms=200)
        await self._producer.start()

    def body(self, rid: str, ts: float, i: int) -> bytes:
        import orjson

        return orjson.dumps({"request_id": rid, "timestamp": ts, "values": self.pool[i % len(self.pool)]})

    async def send(self, rid: str, ts: float, partition: int, i: int) -> None:
        from aiokafka.errors import KafkaError

        body = self.body(rid, ts, i)
        while True:
            try:
                future = await self._producer.send(TOPIC, body, partition=partition)
                break
            except KafkaError:  # not queued at all (e.g. the accumulator waited too long): queue it again
                self.enqueue_retries += 1
                await asyncio.sleep(0.5)

        def delivered(f: asyncio.Future[Any]) -> None:
            if f.cancelled() or f.exception() is not None:
                self.failed.append((rid, repr(None if f.cancelled() else f.exception())))
                self.resend.append((rid, ts, partition, i))
            else:
                self.acked[rid] = (ts, partition, f.result().offset)

        future.add_done_callback(delivered)
        self.sent += 1
        self.last_ts = max(self.last_ts, ts)

    async def run(self, rows: int) -> None:
        """Send rows ``0 .. rows-1``, each no earlier than its event time."""
        i = 0
        while i < rows:
            while self.resend:  # a failed delivery (none expected): sent again, reported
                await self.send(*self.resend.pop(0))
            due = min(rows, int((time.time() - self.t0) * self.rate))
            while i < due:
                await self.send(f"c{i}", self.t0 + (i + 0.5) / self.rate, i % self.partitions, i)
                i += 1
            await asyncio.sleep(0.01)

    async def finish(self, timeout: float = 120.0) -> None:
        async with asyncio.timeout(timeout):
            await self._producer.flush()
            while self.resend:
                await self.send(*self.resend.pop(0))
                await self._producer.flush()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()


def traffic_rows(n: int) -> list[dict[str, Any]]:
    """Churn demo rows as ``record`` values (dates as RFC 3339 strings, missing values as null)."""
    from sidecar.demo.data import churn_frame

    df = churn_frame(n, seed=2)
    df["signup_date"] = df["signup_date"].map(lambda t: t.isoformat() + "Z")
    rows: list[dict[str, Any]] = df.astype(object).where(df.notna(), None).to_dict("records")
    return rows


async def create_topic(bootstrap: str, partitions: int) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, partitions, 1)], timeout_ms=30_000)
        async with asyncio.timeout(30):
            while True:
                described = await admin.describe_topics([TOPIC])
                parts = described[0]["partitions"] if described and described[0]["error_code"] == 0 else []
                if len(parts) == partitions and all(p["leader"] >= 0 for p in parts):
                    return
                await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def read_topic(bootstrap: str, partitions: int, timeout: float = 60.0) -> list[tuple[int, int, str, float]]:
    """Every message of the topic as (partition, offset, request id, event time)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    out: list[tuple[int, int, str, float]] = []
    try:
        async with asyncio.timeout(timeout):
            parts = [TopicPartition(TOPIC, p) for p in range(partitions)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            ends = await consumer.end_offsets(parts)
            while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
                for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                    for r in records:
                        msg = json.loads(r.value)
                        out.append((tp.partition, r.offset, msg["request_id"], float(msg["timestamp"])))
    finally:
        await consumer.stop()
    return out


# -- the chaos ----------------------------------------------------------------------------------------
class Chaos:
    """Runs the plan against the sidecar and the broker, and restarts a sidecar that exits by itself."""

    def __init__(self, plan: Plan, sidecar: Sidecar, broker: Broker, run: Run, down: float) -> None:
        self.plan, self.sidecar, self.broker, self.run, self.down = plan, sidecar, broker, run, down
        self.faults: list[asyncio.Task[None]] = []
        self.watchers: list[asyncio.Task[None]] = []
        self.supervisor: asyncio.Task[None] | None = None
        self.killed_workers: set[int] = set()
        self.finishing = False

    def begin(self) -> None:
        """Every fault as its own task at its own moment (a kill waiting for a worker delays no other)."""
        self.supervisor = asyncio.create_task(self.supervise())
        self.faults = [asyncio.create_task(self.kill(f"K{n}", at, kind))
                       for n, (at, kind) in enumerate(self.plan.kills, 1)]
        self.faults.append(asyncio.create_task(self.outages()))

    async def finish(self) -> None:
        """Wait for the faults (raising the first error) and for what their watchers note."""
        await asyncio.gather(*self.faults)
        await asyncio.gather(*self.watchers)

    async def close(self) -> None:
        """Stop restarting anything; cancel whatever is still pending."""
        self.finishing = True
        tasks = [t for t in (*self.faults, *self.watchers, self.supervisor) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def sleep_until(self, at: float) -> None:
        await asyncio.sleep(max(0.0, self.run.t0 + at - time.time()))

    async def kill(self, label: str, at: float, kind: str) -> None:
        await self.sleep_until(at)
        if self.finishing:
            return
        if kind == "main":
            pid, worker = self.sidecar.kill_main()
            new = self.sidecar.start()
            event = self.run.add(label, "kill main", pid, f"restarted as pid {new}")
            self.watch(self.main_back(event, new, worker))
            return

        def target() -> int | None:
            # A new worker starts when the sidecar next needs one (it may be reconnecting or rejoining).
            worker = self.sidecar.worker()
            return worker if worker is not None and worker not in self.killed_workers else None

        began = time.monotonic()
        worker = await until(target, 60.0)
        if worker is None:
            self.run.problems.append(f"{label}: no ingest worker to kill within 60 s")
            self.run.add(label, "kill worker", None, "no worker within 60 s: not killed")
            return
        self.killed_workers.add(worker)
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)
        waited = time.monotonic() - began
        detail = f"main pid {self.sidecar.pid}" + (f" (waited {waited:.1f} s for a worker)" if waited > 0.5 else "")
        event = self.run.add(label, "kill worker", worker, detail)
        self.watch(self.worker_back(event, worker, self.sidecar.pid))

    def watch(self, coro: Any) -> None:
        self.watchers.append(asyncio.create_task(coro))

    async def main_back(self, event: Event, pid: int, orphan: int | None) -> None:
        """Note when the new main process serves, and that the old one's worker went away by itself."""
        started = time.monotonic()
        if orphan is not None:
            gone = await until(lambda: not pid_alive(orphan), 15.0)
            if not gone:
                self.run.problems.append(f"{event.label}: the killed main process's worker {orphan} outlived it")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(orphan, signal.SIGKILL)
        if await until(lambda: self.sidecar.pid != pid or self.sidecar.ready(), 60.0, 0.2) and self.sidecar.pid == pid:
            event.detail += f", ready after {time.monotonic() - started:.1f} s"

    async def worker_back(self, event: Event, worker: int, main: int) -> None:
        """Note when the sidecar has started a new worker (it does so on its next request)."""
        started = time.monotonic()

        def replaced() -> int | None:
            if self.sidecar.pid != main:
                return -1  # the main process was killed meanwhile: nothing left to watch
            new = self.sidecar.worker()
            return new if new not in (None, worker) else None

        new = await until(replaced, 60.0, 0.2)
        if new is None:
            self.run.problems.append(f"{event.label}: no new ingest worker within 60 s")
        elif new > 0:
            event.detail += f", new worker pid {new} after {time.monotonic() - started:.1f} s"

    async def outages(self) -> None:
        for n, at in enumerate(self.plan.outages, 1):
            await self.sleep_until(at)
            began = time.time()
            pid, seconds = await asyncio.to_thread(self.broker.stop)
            self.run.add(f"B{n}", "broker stop", pid, f"SIGTERM, exited in {seconds:.1f} s; down {self.down:.0f} s",
                         began)
            await asyncio.sleep(self.down)
            began = time.time()
            pid, seconds = await asyncio.to_thread(self.broker.restart)
            self.run.add(f"B{n}", "broker start", pid, f"same port and data, serving after {seconds:.1f} s", began)

    async def supervise(self) -> None:
        """A sidecar that exits without being killed is noted (with its log's last lines) and started again."""
        crashes = 0
        while not self.finishing:
            code = self.sidecar.exited()
            if code is not None and not self.finishing:
                crashes += 1
                pid = self.sidecar.pid
                tail = "\n".join(self.sidecar.log().splitlines()[-15:])
                self.run.problems.append(f"sidecar pid {pid} exited by itself with code {code}:\n{tail}")
                new = self.sidecar.start()
                self.run.add(f"X{crashes}", "sidecar exit", pid, f"exit code {code}; restarted as pid {new}")
            await asyncio.sleep(0.2)


# -- comparing windows --------------------------------------------------------------------------------
@dataclass
class WindowRow:
    """One window's comparison."""

    window: int  # index: floor(event time / size)
    start: str
    acked: int
    in_topic: int
    reported: int
    reports: list[int]
    partial: bool
    faults: list[str]

    @property
    def difference(self) -> int:
        return self.reported - self.acked


def compare(size: float, acked: dict[str, tuple[float, int, int]], topic: list[tuple[int, int, str, float]],
            reports: list[Any], events: list[Event]) -> list[WindowRow]:
    by_acked = Counter(math.floor(ts / size) for ts, _, _ in acked.values())
    by_topic = Counter(math.floor(ts / size) for _, _, _, ts in topic)
    by_report: dict[int, list[Any]] = defaultdict(list)
    for r in reports:
        if r.window_start is not None:
            by_report[round(r.window_start.timestamp() / size)].append(r)
    faults: dict[int, list[str]] = defaultdict(list)
    for e in events:
        faults[math.floor(e.wall / size)].append(f"{e.label} {e.kind.replace('kill ', '').replace('broker ', '')}")
    rows = []
    for w in sorted(set(by_acked) | set(by_topic) | set(by_report)):
        rs = by_report.get(w, [])
        counts = [int(r.row_count["actual"]) for r in rs]
        rows.append(WindowRow(w, datetime.fromtimestamp(w * size, UTC).strftime("%H:%M:%S"), by_acked.get(w, 0),
                              by_topic.get(w, 0), sum(counts), counts, any(r.partial for r in rs), faults.get(w, [])))
    return rows


def totals(rows: list[WindowRow]) -> dict[str, int]:
    return {
        "windows": len(rows),
        "acked": sum(r.acked for r in rows),
        "in_topic": sum(r.in_topic for r in rows),
        "reported": sum(r.reported for r in rows),
        "lost": sum(max(-r.difference, 0) for r in rows),
        "double_counted": sum(max(r.difference, 0) for r in rows),
        "windows_reported_twice": sum(len(r.reports) > 1 for r in rows),
        "windows_not_reported": sum(not r.reports for r in rows),
    }


def window_table(rows: list[WindowRow]) -> str:
    body = [[r.start, r.acked, r.in_topic, "+".join(map(str, r.reports)) or "-", f"{r.difference:+d}",
             len(r.reports), "yes" if r.partial else "", ", ".join(r.faults)] for r in rows]
    t = totals(rows)
    body.append(["**total**", t["acked"], t["in_topic"], t["reported"],
                 f"lost {t['lost']}, twice {t['double_counted']}", "", "", ""])
    return markdown_table(["window start (UTC)", "acknowledged", "in topic", "reported", "difference", "reports",
                           "partial", "faults while current"], body, align="lrrrrrll")


def schedule_table(events: list[Event]) -> str:
    return markdown_table(["#", "at (s)", "wall time", "fault", "pid", "what happened"],
                          [[e.label, f"{e.at:.1f}", stamp(e.wall)[11:], e.kind, e.pid or "-", e.detail]
                           for e in sorted(events, key=lambda e: e.wall)], align="lrllrl")


def excerpt(log: str, rows: list[WindowRow], size: float) -> str:
    """The sidecar's log lines about the windows that went wrong, and its warnings and restarts."""
    wanted = [str(datetime.fromtimestamp(r.window * size, UTC)) for r in rows if r.difference or len(r.reports) > 1]
    keep = [ln for ln in log.splitlines()
            if any(w in ln for w in wanted) or "=== chaos" in ln or " WARNING " in ln or " ERROR " in ln]
    return "\n".join(keep[-200:])


# -- main ---------------------------------------------------------------------------------------------
async def chaos_run(args: argparse.Namespace, work: Path, run: Run) -> dict[str, Any]:
    from sidecar import DataContract
    from sidecar.demo.data import churn_frame
    from sidecar.store.reports import JsonlReportStore

    timings: dict[str, float] = {}
    began = time.monotonic()
    broker = Broker(work / "kafka")
    sidecar: Sidecar | None = None
    producer: Producer | None = None
    chaos: Chaos | None = None
    try:
        bootstrap = await asyncio.to_thread(broker.start)
        await create_topic(bootstrap, args.partitions)
        timings["broker start"] = time.monotonic() - began
        DataContract(CONTRACT, churn_frame(5000, seed=1)).save(work / "contracts")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        store = work / "store"
        sidecar = Sidecar(work, sidecar_settings(args, bootstrap, work / "contracts", store, port))
        sidecar.start()
        if not await until(sidecar.ready, 60.0):
            raise RuntimeError(f"the sidecar was not ready within 60 s:\n{sidecar.log()[-3000:]}")
        plan = Plan.draw(args.seed, args.kills, args.broker_restarts, args.duration, args.broker_down)
        run.t0 = float(math.ceil(time.time()))
        await asyncio.sleep(run.t0 - time.time())
        producer = Producer(bootstrap, args.rate, args.partitions, traffic_rows(2000), run.t0)
        await producer.start()
        chaos = Chaos(plan, sidecar, broker, run, args.broker_down)
        chaos_began = time.monotonic()
        chaos.begin()
        await producer.run(int(args.duration * args.rate))
        await chaos.finish()
        await producer.finish()
        timings["produce + faults"] = time.monotonic() - chaos_began

        # Close every data window: one record past the last window's end plus lateness.
        drain_began = time.monotonic()
        last_window = math.floor(producer.last_ts / args.window)
        flush_ts = (last_window + 1) * args.window + args.lateness + 1.0
        await producer.send("flush", flush_ts, 0, 0)
        await producer.finish()
        await producer.stop()
        reports = JsonlReportStore(store)

        def last_reported() -> bool:
            return any(round(r.window_start.timestamp() / args.window) == last_window
                       for r in reports.read(MODEL, CONTRACT) if r.window_start is not None)

        if not await until(last_reported, args.drain_timeout, 0.5):
            run.problems.append(f"the last data window was not reported within {args.drain_timeout:.0f} s")
        await chaos.close()
        code, seconds = sidecar.terminate()
        timings["drain + SIGTERM"] = time.monotonic() - drain_began
        if code != 0:
            run.problems.append(f"the sidecar exited {code} on SIGTERM after {seconds:.1f} s")
        topic = await read_topic(bootstrap, args.partitions)
        all_reports = reports.read(MODEL, CONTRACT)
        log = sidecar.log()
    finally:
        if chaos is not None:
            await chaos.close()
        if sidecar is not None:
            sidecar.stop()
        with contextlib.suppress(Exception):
            if producer is not None:
                await producer.stop()
        await asyncio.to_thread(broker.destroy)
    timings["total"] = time.monotonic() - began

    acked_ids = set(producer.acked)
    topic_ids = Counter(rid for _, _, rid, _ in topic)
    if missing := acked_ids - set(topic_ids):
        run.problems.append(f"{len(missing)} acknowledged rows are not in the topic, e.g. {sorted(missing)[:5]}")
    if extra := set(topic_ids) - acked_ids:
        run.problems.append(f"{len(extra)} rows in the topic were never acknowledged, e.g. {sorted(extra)[:5]}")
    if dupes := [rid for rid, n in topic_ids.items() if n > 1]:
        run.problems.append(f"{len(dupes)} rows are in the topic more than once, e.g. {dupes[:5]}")
    windows = compare(args.window, producer.acked, topic, all_reports, run.events)
    return {"windows": windows, "timings": timings, "log": log, "producer": {
        "sent": producer.sent, "acked": len(producer.acked), "failed_deliveries": producer.failed,
        "enqueue_retries": producer.enqueue_retries}, "sidecar_starts": sidecar.starts if sidecar else 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs in all, half main process, half worker")
    parser.add_argument("--broker-restarts", type=int, default=2, help="times the broker is stopped and started")
    parser.add_argument("--broker-down", type=float, default=5.0, help="seconds the broker stays down each time")
    parser.add_argument("--seed", type=int, default=9, help="seed of the fault schedule")
    parser.add_argument("--rate", type=float, default=300.0, help="rows per second (event time and wall time)")
    parser.add_argument("--window", type=float, default=5.0, help="window size, seconds")
    parser.add_argument("--lateness", type=float, default=1.0, help="window lateness, seconds")
    parser.add_argument("--partition-idle", type=float, default=5.0,
                        help="window.partition_idle_seconds: how long a quiet partition holds windows open "
                             "(the flush record reaches one partition; the others hold the last window this long)")
    parser.add_argument("--min-rows", type=int, default=100, help="window.min_rows")
    parser.add_argument("--partitions", type=int, default=1, help="partitions of the topic (rows round robin)")
    parser.add_argument("--duration", type=float, default=150.0,
                        help="seconds of producing and faults (the whole run takes 10 to 20 s more)")
    parser.add_argument("--drain-timeout", type=float, default=90.0,
                        help="seconds to wait for the last window after production ends")
    parser.add_argument("--at", metavar="REV", default=None,
                        help="run the sidecar from `git archive REV` instead of the working tree")
    parser.add_argument("--json", metavar="FILE", default=None, help="write windows, faults and totals as JSON")
    parser.add_argument("--keep-logs", metavar="DIR", default=None,
                        help="copy the sidecar's log (all its starts) and the broker's log into DIR")
    args = parser.parse_args(argv)
    if args.duration < WARMUP + TAIL + 1:
        parser.error(f"--duration must be at least {WARMUP + TAIL + 1:.0f} s")

    # This script's own clients retry through the outages it causes; their connection errors are expected.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    run = Run()
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        work = Path(tmp)
        source = "working tree"
        if args.at:
            source = f"{args.at} = {use_revision(args.at, work / 'code')[:12]} (git archive)"
        print(f"chaos run: {args.kills} kills, {args.broker_restarts} broker restarts, {args.rate:g} rows/s for "
              f"{args.duration:g} s, {args.window:g} s windows, seed {args.seed}; sidecar code: {source}",
              file=sys.stderr, flush=True)
        try:
            out = asyncio.run(chaos_run(args, work, run))
        except Exception as exc:
            print(f"chaos run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            for p in run.problems:
                print(f"- {p}", file=sys.stderr)
            return 2
        finally:
            if args.keep_logs:
                keep = Path(args.keep_logs)
                keep.mkdir(parents=True, exist_ok=True)
                for name in ("sidecar.log", "kafka/kafka.log"):
                    with contextlib.suppress(OSError):
                        shutil.copy(work / name, keep / Path(name).name)

    rows: list[WindowRow] = out["windows"]
    t = totals(rows)
    ok = t["lost"] == 0 and t["double_counted"] == 0 and t["windows_reported_twice"] == 0
    kinds = Counter(e.kind for e in run.events)
    day = datetime.fromtimestamp(run.t0, UTC).strftime("%Y-%m-%d")
    print(f"### Chaos run, seed {args.seed}: {kinds['kill main']} main-process kills, {kinds['kill worker']} worker "
          f"kills, {kinds['broker stop']} broker restarts\n")
    print(f"{args.rate:g} rows/s for {args.duration:g} s ({out['producer']['acked']:,} rows acknowledged), "
          f"{args.window:g} s windows with {args.lateness:g} s lateness, {args.partitions} partition(s), "
          f"sidecar code: {source}. Windows of {day} (UTC); the last one holds only the flush record and "
          "closes on SIGTERM (partial).\n")
    print(window_table(rows) + "\n")
    print(f"Faults (seconds after production started; the sidecar was started {out['sidecar_starts']} times):\n")
    print(schedule_table(run.events) + "\n")
    print("Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in out["timings"].items()) + ".")
    if out["producer"]["failed_deliveries"] or out["producer"]["enqueue_retries"]:
        print(f"Producer: {len(out['producer']['failed_deliveries'])} failed deliveries (sent again), "
              f"{out['producer']['enqueue_retries']} sends queued again.")
    for p in run.problems:
        print(f"\nProblem: {p}")
    if not ok:
        print("\nSidecar log about the windows that differ (and every warning and restart):\n")
        print(excerpt(out["log"], rows, args.window))
    print(f"\n{'PASS' if ok else 'FAIL'}: lost {t['lost']}, counted twice {t['double_counted']}, windows reported "
          f"twice {t['windows_reported_twice']}, windows not reported {t['windows_not_reported']}.")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "args": vars(args), "source": source, "t0": run.t0, "ok": ok, "totals": t,
            "windows": [{**asdict(r), "difference": r.difference} for r in rows],
            "events": [asdict(e) for e in run.events], "problems": run.problems,
            "timings": out["timings"], "producer": out["producer"], "sidecar_starts": out["sidecar_starts"],
        }, indent=2), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
