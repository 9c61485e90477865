"""End-to-end stream throughput of the real ``sidecar run`` against a real local Kafka broker, next to the
ceilings a Python consumer reaches on the same machine in the same run.

What it measures
----------------
Rows of 68 features (40 float, 15 int, 10 categorical, 2 bool, 1 datetime) are produced once per format to
a fresh topic of one partition (``record`` and ``flat``: one row per message; ``oip``: one KServe V2
request per message; ``columns``: JSON column batches of 500 rows; ``arrow``: Arrow IPC batches of 5000
rows). For each format:

(a) **aiokafka only**: a plain ``AIOKafkaConsumer`` with the sidecar's consumer settings runs the same
    ``getmany`` loop over the topic and does nothing with the records;
(a+) **aiokafka with the sidecar's fast I/O** (diagnostic): (a) with ``sidecar.kafka.fastio`` installed
    (responses received in place, CRC32C in hardware: what the sidecar's main process runs with
    ``kafka.fast_io``), the ceiling of the sidecar's own fetch path;
(b) **decode only**: the same bytes, fetched beforehand, go through ``make_decoder(fmt, schema).decode``
    in exactly the batches ``getmany`` returned, without Kafka;
(b+) **ingest, no Kafka** (diagnostic): the ingest worker's whole per-batch work on those batches
    (RawMessage construction, then ``StreamEngine.handle``: decode, window routing, profile update);
(c) **end-to-end**: the real ``sidecar run --config FILE`` as a subprocess; the rate counts from the first
    scrape of ``/metrics`` that shows ``model_health_records_total{result="ok"}`` above 0 until it reaches
    the topic's size (so process start, Kafka connection and group join are not counted). Memory is the
    sidecar's main process plus its ingest worker: the sum of their PSS (``/proc/<pid>/smaps_rollup``,
    shared pages split between them) sampled during the run, and the sum of their ``VmHWM``; the CPU
    each used during the run is read from ``/proc/<pid>/stat``.

(a), (b) and (b+) run in a fresh child interpreter, (c) in the sidecar's own process; every Python process
runs with its thread pools at one thread (``_common.child_env``). Nothing is pinned: the machine has 2
cores and the broker needs one of them while (a) and (c) run, which is part of what a real deployment pays.
Each measurement is the median of ``--repeats`` runs, each with a new consumer group so it re-reads the
whole topic. Windows are 3600 s and every row falls into one, so no window closes mid-run.

(c1) **A/B of the ingest worker**: (c) again, interleaved run by run, with ``ingest.worker_process: false``
    (decode and profile on the event loop, one process); the table beside the main one gives both rates and
    peak PSS, and what ``worker_process: auto`` picks on this machine. ``--no-ab`` skips it.

Also:

(d) **window latency**: a live sidecar (``record`` format, 10 s windows, 1 s lateness) receives a window of
    2,000 rows; then the record that moves stream time past the window's end plus lateness is produced, and the
    time from just before that send until ``model_health_window_end_timestamp_seconds`` on ``/metrics``
    shows the window's end is measured (scraped every 20 ms); median over several windows.
(e) ``--long``: memory (PSS of both processes) over 10M rows in Arrow batches (1M distinct rows sent 10
    times, a window closing every 1M rows), sampled at 1M, 5M and 10M rows.

Targets (from the issue): end-to-end at least 60 % of the lower ceiling for every format; at least 30,000
single-record JSON messages/s, 150,000 rows/s in JSON column batches and 1,000,000 rows/s in Arrow
batches; RSS under 300 MB and flat over 10M records; window results on /metrics within 1 s.

Usage::

    .venv/bin/python benchmarks/stream_throughput.py             # all formats, 3 repeats (about 4 minutes)
    .venv/bin/python benchmarks/stream_throughput.py --quick     # smoke run, under a minute
    .venv/bin/python benchmarks/stream_throughput.py --long      # plus RSS over 10M records (~6 GB on the broker)
    .venv/bin/python benchmarks/stream_throughput.py --bootstrap 127.0.0.1:9092 --formats record,arrow

Without ``--bootstrap`` (or ``KAFKA_BOOTSTRAP_SERVERS``) the script starts its own broker with
``scripts/kafka-local`` in a temporary directory and always stops it. Topics it creates are deleted.
``--sidecar-cmd CMD`` runs (c)-(e) with another command (``run --config FILE`` is appended), e.g. a wrapper
that patches the package first, to measure a change end to end. benchmarks/README.md explains how to read
the table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO))
from _common import (  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)
    CHILD_FLAG,
    broker,
    child_env,
    children,
    delete_topics,
    markdown_table,
    median,
    produce,
    run_child,
    write_child_result,
)

N_FLOAT, N_INT, N_CAT, N_BOOL, N_DATETIME = 40, 15, 10, 2, 1
#: Categories per categorical column (Zipf-like frequencies).
CAT_SIZES = (3, 5, 8, 12, 20, 30, 50, 75, 100, 150)
#: Event time of the first produced row; a multiple of 3600 so a one-hour window holds a whole topic.
T0 = 1_800_000_000
ROW_STEP_SECONDS = 0.001
ROWS_PER_COLUMNS_MESSAGE = 500
ROWS_PER_ARROW_MESSAGE = 5000
FORMATS = ("record", "flat", "columns", "oip", "arrow")
#: Messages produced per format: (default run, --quick).
MESSAGES = {
    "record": (200_000, 30_000),
    "flat": (200_000, 30_000),
    "oip": (100_000, 20_000),
    "columns": (1_000, 200),
    "arrow": (400, 100),
}
#: Absolute targets from the issue: (rows/s, label).
TARGETS = {"record": 30_000, "columns": 150_000, "arrow": 1_000_000}
TARGET_RATIO = 0.60
TARGET_RSS_BYTES = 300 * 10**6
TARGET_LATENCY_SECONDS = 1.0
WINDOW_SECONDS = 3600.0
OIP_COLUMNS = {
    "numeric": [f"f{i}" for i in range(N_FLOAT)] + [f"i{i}" for i in range(N_INT)],
    "categorical": [f"c{i}" for i in range(N_CAT)],
    "flags": [f"b{i}" for i in range(N_BOOL)],
}
MAX_MESSAGE_BYTES = 32 * 2**20
CONTRACT = "bench_inputs"
SIDECAR = Path(sys.executable).parent / "sidecar"


# -- data ---------------------------------------------------------------------------------------------
def make_frame(n: int, seed: int) -> pd.DataFrame:
    """``n`` rows of the 68 features; the same distribution for every seed (the stream stays healthy)."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for i in range(N_FLOAT):
        x = rng.normal(50.0 + i, 10.0 + i % 7, n).round(4)
        if i < 4:
            x[rng.random(n) < 0.02] = np.nan  # some nulls, as real traffic has
        data[f"f{i}"] = x
    for i in range(N_INT):
        data[f"i{i}"] = rng.integers(0, 100 * (i + 1), n)
    for i, k in enumerate(CAT_SIZES):
        weights = 1.0 / np.arange(1, k + 1)
        labels = np.array([f"c{i}_v{j}" for j in range(k)], dtype=object)
        data[f"c{i}"] = labels[rng.choice(k, n, p=weights / weights.sum())]
    for i in range(N_BOOL):
        data[f"b{i}"] = rng.random(n) < 0.3 + 0.2 * i
    data["d0"] = pd.to_datetime(1_790_000_000 + rng.integers(0, 86_400 * 30, n), unit="s", utc=True)
    return pd.DataFrame(data)


def build_contract(directory: Path) -> Path:
    """Profile a 50k-row reference, enable the default checks plus a few more, save; returns ``dir/name``."""
    from sidecar import DataContract

    contract = DataContract(CONTRACT, make_frame(50_000, seed=1))
    contract.min_max_test.configure([f"f{i}" for i in range(5)])
    contract.domain_test.configure([f"c{i}" for i in range(N_CAT)])
    contract.save(directory)
    return directory / CONTRACT


def _json_columns(df: pd.DataFrame) -> dict[str, list[Any]]:
    """Columns as Python lists the way a producer serialises them (NaN -> null, datetimes as RFC 3339)."""
    out: dict[str, list[Any]] = {}
    for name in df.columns:
        s = df[name]
        if name.startswith("d"):
            out[name] = s.dt.strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
        elif s.dtype.kind == "f":
            values = s.to_numpy().astype(object)
            values[s.isna().to_numpy()] = None
            out[name] = values.tolist()
        else:
            out[name] = s.tolist()
    return out


@dataclass
class Encoded:
    """One format's messages: bodies and Kafka timestamps, plus rows per message."""

    fmt: str
    bodies: list[bytes]
    timestamps_ms: list[int]
    rows_per_message: int

    @property
    def rows(self) -> int:
        return len(self.bodies) * self.rows_per_message


def rows_per_message(fmt: str) -> int:
    """Rows each message of ``fmt`` carries in this benchmark."""
    return {"columns": ROWS_PER_COLUMNS_MESSAGE, "arrow": ROWS_PER_ARROW_MESSAGE}.get(fmt, 1)


def encode(fmt: str, n_messages: int, seed: int = 2, t0: float = T0) -> Encoded:
    """``n_messages`` messages of ``fmt``; row ``i`` has event time ``t0 + i * ROW_STEP_SECONDS``."""
    import orjson

    per = rows_per_message(fmt)
    n_rows = n_messages * per
    df = make_frame(n_rows, seed)
    ts = t0 + np.arange(n_rows) * ROW_STEP_SECONDS
    ts_ms = (ts[::per] * 1000).astype(np.int64).tolist()
    bodies: list[bytes] = []
    if fmt == "arrow":
        import pyarrow as pa

        for start in range(0, n_rows, per):
            table = pa.Table.from_pandas(df.iloc[start : start + per], preserve_index=False)
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            bodies.append(sink.getvalue().to_pybytes())
        return Encoded(fmt, bodies, ts_ms, per)
    cols = _json_columns(df)
    names = list(cols)
    tsl = ts.round(3).tolist()
    if fmt == "columns":
        for start in range(0, n_rows, per):
            body = {
                "request_id": [f"r{start + j}" for j in range(per)],
                "timestamp": tsl[start],
                "columns": {name: cols[name][start : start + per] for name in names},
            }
            bodies.append(orjson.dumps(body))
        return Encoded(fmt, bodies, ts_ms, per)
    rows = [dict(zip(names, values, strict=True)) for values in zip(*cols.values(), strict=True)]
    if fmt == "record":
        bodies = [orjson.dumps({"request_id": f"r{i}", "timestamp": tsl[i], "values": row})
                  for i, row in enumerate(rows)]
    elif fmt == "flat":
        bodies = [orjson.dumps({**row, "request_id": f"r{i}", "timestamp": tsl[i]}) for i, row in enumerate(rows)]
    elif fmt == "oip":
        dtypes = {"numeric": "FP64", "categorical": "BYTES", "flags": "BOOL"}
        tensors = [(name, cs, dtypes[name]) for name, cs in OIP_COLUMNS.items()]
        for i, row in enumerate(rows):
            inputs = [{"name": name, "shape": [1, len(cs)], "datatype": dt, "data": [row[c] for c in cs]}
                      for name, cs, dt in tensors]
            inputs.append({"name": "d0", "shape": [1], "datatype": "BYTES", "data": [row["d0"]]})
            bodies.append(orjson.dumps({"id": f"r{i}", "inputs": inputs}))
    else:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    return Encoded(fmt, bodies, ts_ms, per)


# -- topics -------------------------------------------------------------------------------------------
async def create_topic(bootstrap: str, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": str(MAX_MESSAGE_BYTES)})])
    finally:
        await admin.close()
    await asyncio.sleep(0.2)


async def produce_bodies(bootstrap: str, topic: str, bodies: list[bytes], timestamps_ms: list[int]) -> None:
    """Send every body (in order, partition 0, no key) with its timestamp and wait for all acknowledgements."""
    records = ((None, body, ts) for body, ts in zip(bodies, timestamps_ms, strict=True))
    await produce(bootstrap, topic, records, max_request_size=MAX_MESSAGE_BYTES)


# -- (a), (b), (b+): the measuring child --------------------------------------------------------------
def consumer_kwargs(bootstrap: str, group: str) -> dict[str, Any]:
    """What ``SidecarService`` passes to ``AIOKafkaConsumer`` (with its default settings)."""
    from sidecar.config import KafkaSettings

    k = KafkaSettings(bootstrap_servers=bootstrap, group_id=group)
    return {"bootstrap_servers": bootstrap, "group_id": group, "enable_auto_commit": False,
            "auto_offset_reset": k.auto_offset_reset, "max_poll_records": k.max_poll_records,
            "fetch_max_wait_ms": k.fetch_max_wait_ms, "client_id": "stream-bench"}


async def consume(bootstrap: str, topic: str, n: int, group: str, keep: bool) -> tuple[float, int, list[Any]]:
    """Read ``n`` messages with the sidecar's getmany loop; returns (seconds, messages timed, batches).

    Timing starts when the first batch arrives (group join and connection are not counted) and that
    batch's messages are not counted. With ``keep`` the batches (``(tp, records)``) are returned.
    """
    from aiokafka import AIOKafkaConsumer

    kw = consumer_kwargs(bootstrap, group)
    consumer = AIOKafkaConsumer(topic, **kw)
    await consumer.start()
    kept: list[Any] = []
    try:
        seen, first_n, started = 0, 0, 0.0
        timeout = max(kw["fetch_max_wait_ms"], 50)
        while seen < n:
            batches = await consumer.getmany(timeout_ms=timeout, max_records=kw["max_poll_records"])
            k = 0
            for tp, records in batches.items():
                k += len(records)
                if keep and records:
                    kept.append((tp, records))
            if not k:
                continue
            if not seen:
                started, first_n = time.perf_counter(), k
            seen += k
        return time.perf_counter() - started, seen - first_n, kept
    finally:
        await consumer.stop()


def child(spec: dict[str, Any]) -> None:
    """(a), (b) and (b+) for one format, in this fresh interpreter."""
    from sidecar.config import Settings
    from sidecar.contract import DataContract
    from sidecar.decoders import RawMessage, make_decoder
    from sidecar.stream.engine import Request, StreamEngine

    bootstrap, topic, n, repeats = spec["bootstrap"], spec["topic"], spec["messages"], spec["repeats"]
    from sidecar.kafka import fastio

    result: dict[str, Any] = {"a": [], "a_fast": [], "b": [], "ingest": []}
    # (a) and (a+) alternate run by run, like (b) and (b+) below.
    for r in range(repeats):
        seconds, counted, _ = asyncio.run(consume(bootstrap, topic, n, f"{topic}-a{r}-{uuid.uuid4().hex[:6]}", False))
        result["a"].append(counted / seconds)
        fastio.install()
        try:
            seconds, counted, _ = asyncio.run(consume(bootstrap, topic, n, f"{topic}-af{r}-{uuid.uuid4().hex[:6]}",
                                                      False))
        finally:
            fastio.uninstall()
        result["a_fast"].append(counted / seconds)
    _, _, kept = asyncio.run(consume(bootstrap, topic, n, f"{topic}-collect-{uuid.uuid4().hex[:6]}", True))
    result["batch_sizes"] = [len(records) for _, records in kept]
    raw = [[RawMessage(r.value, tuple(r.headers), r.timestamp, r.key) for r in records] for _, records in kept]
    # The fetched topic is input, not decoder state: keep the cyclic GC from rescanning it in every full
    # collection (in the sidecar a getmany batch is short-lived).
    gc.collect()
    gc.freeze()

    contract = DataContract.from_path(spec["contract"])
    schema = {s.name: s.kind for s in contract.current_specs()}
    decoder = make_decoder(spec["format"], schema, oip_columns=OIP_COLUMNS if spec["format"] == "oip" else None)
    decoder.decode(raw[0])  # warm-up: imports and caches
    settings = Settings(**spec["settings"])
    # (b) and (b+) alternate run by run, so a slow spell of the machine hits both alike.
    for _ in range(repeats):
        rows = 0
        started = time.perf_counter()
        for batch in raw:
            decoded = decoder.decode(batch)
            if decoded.errors:
                raise RuntimeError(f"benchmark data rejected: {decoded.errors[:3]}")
            rows += decoded.n_rows
        result["b"].append(n / (time.perf_counter() - started))
        # The worker's per-batch step plus the service's message construction: RawMessage objects, decode,
        # windows, profile update (the engine is what the ingest worker process runs).
        engine = StreamEngine(settings, {"inputs": contract})
        started = time.perf_counter()
        for tp, records in kept:
            messages = [RawMessage(r.value, tuple(r.headers), r.timestamp, r.key) for r in records]
            offsets = np.fromiter((r.offset for r in records), dtype=np.int64, count=len(records))
            outcome = engine.handle(Request("ingest", tp.topic, tp, messages, offsets))
            if outcome.ingested is None or outcome.ingested.errors:
                raise RuntimeError("benchmark data rejected")
        seconds = time.perf_counter() - started
        if sum(w.rows for w in outcome.open_windows[tp.topic]) != rows:
            raise RuntimeError("ingest dropped rows")
        result["ingest"].append(n / seconds)
        del engine
    result["rows"] = rows
    write_child_result(spec["result_file"], result)


# -- (c), (d), (e): the real sidecar process ----------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sidecar_settings(bootstrap: str, topic: str, fmt: str, contract: Path, store: Path, group: str,
                     port: int = 0, worker_process: bool = True, **window: Any) -> dict[str, Any]:
    inputs: dict[str, Any] = {"topic": topic, "contract": str(contract), "format": fmt}
    if fmt == "oip":
        inputs["oip_columns"] = OIP_COLUMNS
    return {
        "model": "bench",
        "kafka": {"bootstrap_servers": bootstrap, "group_id": group},
        "inputs": inputs,
        "window": {"size_seconds": WINDOW_SECONDS, "lateness_seconds": 60, "min_rows": 500,
                   "idle_close_seconds": None, **window},
        "http": {"host": "127.0.0.1", "port": port},
        "alerts": {"topic": None},
        "store": {"path": str(store)},
        "ingest": {"worker_process": worker_process},
        "log_level": "WARNING",
    }


_RECORDS_OK = re.compile(r'^model_health_records_total\{([^}]*)\} (\S+)$', re.M)
_WINDOW_END = re.compile(r'^model_health_window_end_timestamp_seconds\{[^}]*\} (\S+)$', re.M)


class SidecarProcess:
    """``sidecar run --config FILE`` on a free loopback port."""

    #: The command that runs the sidecar (``--sidecar-cmd`` replaces it, e.g. to A/B a patched build).
    command: list[str] = [str(SIDECAR)]

    def __init__(self, workdir: Path, settings: dict[str, Any]) -> None:
        import yaml

        self.port = free_port()
        settings = {**settings, "http": {"host": "127.0.0.1", "port": self.port}}
        self.topic = settings["inputs"]["topic"]
        name = settings["kafka"]["group_id"]
        self.config = workdir / f"{name}.yaml"
        self.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        self.log_path = workdir / f"{name}.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SidecarProcess:
        env = {k: v for k, v in child_env().items() if not k.startswith("SIDECAR_")}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([*self.command, "run", "--config", str(self.config)], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.alive()
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"sidecar not ready in 60 s:\n{self.log()}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"sidecar exited with {self.proc.returncode}:\n{self.log()}")

    def scrape(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as resp:
            return str(resp.read().decode())

    def records_ok(self, text: str | None = None) -> float:
        for labels, value in _RECORDS_OK.findall(text if text is not None else self.scrape()):
            if 'result="ok"' in labels and f'topic="{self.topic}"' in labels:
                return float(value)
        return 0.0

    def window_end(self) -> float:
        m = _WINDOW_END.search(self.scrape())
        return float(m.group(1)) if m else 0.0

    def pids(self) -> list[int]:
        """The sidecar's process and its children (the ingest worker)."""
        assert self.proc is not None
        return [self.proc.pid, *children(self.proc.pid)]

    def memory(self) -> dict[str, int]:
        """Memory of the sidecar and its ingest worker together, in bytes.

        ``VmRSS``/``VmHWM``: sums over the processes (pages shared between them, such as the batch ring,
        count once per process); ``Pss``: proportional set size, shared pages split between them.
        """
        out = {"VmRSS": 0, "VmHWM": 0, "Pss": 0}
        for pid in self.pids():
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/status", encoding="ascii") as f:
                    for line in f:
                        key, _, rest = line.partition(":")
                        if key in ("VmRSS", "VmHWM"):
                            out[key] += int(rest.split()[0]) * 1024
                with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            out["Pss"] += int(line.split()[1]) * 1024
        return out

    def cpu(self) -> list[float]:
        """CPU seconds (user + system) used so far by the sidecar, then by each child."""
        tick = os.sysconf("SC_CLK_TCK")
        out = []
        for pid in self.pids():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rpartition(")")[2].split()
                out.append((int(fields[11]) + int(fields[12])) / tick)
        return out




#: Seconds between scrapes while measuring: one /metrics scrape costs the sidecar ~4 ms of CPU (580 series),
#: so it is polled slowly, and faster only during the last half second before the expected end.
SLOW_POLL, FAST_POLL = 0.25, 0.05


def end_to_end(workdir: Path, settings: dict[str, Any], n: int, marks: tuple[int, ...] = ()) -> dict[str, Any]:
    """Run the sidecar until it has counted ``n`` messages; the rate counts from the first non-zero scrape.

    ``marks``: message counts at which to sample the sidecar's memory
    (``{mark: (count seen, PSS of both processes)}``).
    """
    samples: dict[int, tuple[float, int]] = {}
    with SidecarProcess(workdir, settings) as sidecar:
        t0, c0 = 0.0, 0.0
        cpu0: list[float] = []
        pss_peak = 0
        deadline = time.monotonic() + 1800
        while True:
            count = sidecar.records_ok()
            now = time.perf_counter()
            if count and not t0:
                t0, c0 = now, count
                cpu0 = sidecar.cpu()
            if t0:
                pss_peak = max(pss_peak, sidecar.memory()["Pss"])
            for mark in marks:
                if count >= mark and mark not in samples:
                    samples[mark] = (count, sidecar.memory()["Pss"])
            if count >= n:
                break
            sidecar.alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"sidecar counted {count} of {n} messages:\n{sidecar.log()}")
            wait = FAST_POLL
            if t0 and count > c0:
                eta = (n - count) * (now - t0) / (count - c0)
                wait = SLOW_POLL if eta > 2 * SLOW_POLL else FAST_POLL
            if marks:  # RSS samples: /proc is free to read, the count is not; stay close to the marks
                wait = min(wait, 0.1)
            time.sleep(wait)
        if count == c0:
            raise RuntimeError("the whole topic was consumed before the first scrape; produce more messages")
        cpu1 = sidecar.cpu()
        memory = sidecar.memory()
        window_end = sidecar.window_end()
    # CPU share of each process over the measured span (1.0 = one core busy): main loop, then the worker.
    busy = [(b - a) / (now - t0) for a, b in zip(cpu0, cpu1, strict=False)]
    return {"rate": (n - c0) / (now - t0), "hwm": memory["VmHWM"], "rss": memory["VmRSS"], "samples": samples,
            "seconds": now - t0, "window_end": window_end, "pss_peak": max(pss_peak, memory["Pss"]), "busy": busy}


async def window_latency(bootstrap: str, workdir: Path, contract: Path, topic: str, windows: int,
                         rows_per_window: int) -> list[float]:
    """(d): seconds from producing the record that closes a window to its end showing on /metrics."""
    from aiokafka import AIOKafkaProducer

    size, lateness = 10.0, 1.0
    settings = sidecar_settings(bootstrap, topic, "record", contract, workdir / "store-latency",
                                f"{topic}-g", size_seconds=size, lateness_seconds=lateness)
    rows_needed = (windows + 1) * rows_per_window
    enc = encode("record", rows_needed, seed=3, t0=0)  # event times rewritten below
    import orjson

    unused = iter(enc.bodies)

    def body(ts: float) -> bytes:
        obj = orjson.loads(next(unused))
        obj["timestamp"] = ts
        return orjson.dumps(obj)

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    latencies: list[float] = []
    try:
        with SidecarProcess(workdir, settings) as sidecar:
            sent = 0
            for w in range(windows + 1):
                start = T0 + w * size
                # Rows of window w (the first was sent as the closing record of window w-1).
                step = (size - 0.5) / rows_per_window
                futures = [await producer.send(topic, body(start + 0.25 + j * step), partition=0)
                           for j in range(1 if w else 0, rows_per_window)]
                await asyncio.gather(*futures)
                sent += len(futures)
                while sidecar.records_ok() < sent:  # caught up: only the closing record is outstanding
                    sidecar.alive()
                    await asyncio.sleep(0.02)
                if w == windows:
                    break
                closing = start + size + lateness  # stream time reaches end + lateness: the window closes
                started = time.perf_counter()
                fut = await producer.send(topic, body(closing), partition=0)
                await fut
                sent += 1
                while sidecar.window_end() < start + size:
                    sidecar.alive()
                    if time.perf_counter() - started > 30:
                        raise TimeoutError(f"window {w} never showed on /metrics:\n{sidecar.log()}")
                    time.sleep(0.02)
                latencies.append(time.perf_counter() - started)
    finally:
        await producer.stop()
    return latencies


# -- main ---------------------------------------------------------------------------------------------
@dataclass
class FormatResult:
    """Every run's rate of one format, in messages/s, and the sidecar's peak RSS per end-to-end run."""

    fmt: str
    messages: int
    rows_per_message: int
    a: list[float] = field(default_factory=list)  # messages/s
    a_fast: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    ingest: list[float] = field(default_factory=list)
    e2e: list[float] = field(default_factory=list)
    hwm: list[int] = field(default_factory=list)
    pss: list[int] = field(default_factory=list)
    busy: list[list[float]] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    # The A/B of ingest.worker_process: (c) again with the engine on the event loop (one process).
    e2e_one: list[float] = field(default_factory=list)
    pss_one: list[int] = field(default_factory=list)


def _rate(msgs_per_s: float, per: int) -> str:
    """Rows/s, with messages/s in parentheses when a message holds several rows."""
    if msgs_per_s != msgs_per_s:
        return "n/a"
    rows = f"{msgs_per_s * per:,.0f}"
    return rows if per == 1 else f"{rows} ({msgs_per_s:,.0f} msg)"


def _busy(res: FormatResult) -> str:
    """Median CPU share of each sidecar process during (c), e.g. ``0.45, 0.98``."""
    if not res.busy:
        return "n/a"
    n = min(len(b) for b in res.busy)
    return ", ".join(f"{median([b[i] for b in res.busy]):.2f}" for i in range(n))


def _label(fmt: str, per: int) -> str:
    return {"record": "record (1 row/msg)", "flat": "flat (1 row/msg)", "oip": "oip V2 (1 row/msg)"}.get(
        fmt, f"{fmt} ({per} rows/msg)")


def report(results: list[FormatResult]) -> tuple[str, bool]:
    rows, ok_all = [], True
    for r in results:
        a, a_fast, b, ing, e = (median(x) for x in (r.a, r.a_fast, r.b, r.ingest, r.e2e))
        ratio = e / min(a, b)
        target = TARGETS.get(r.fmt)
        ok = ratio >= TARGET_RATIO and (target is None or e * r.rows_per_message >= target)
        ok_all &= ok
        tgt = f">= {TARGET_RATIO:.0%}" + ("" if target is None else f", >= {target:,} rows/s")
        per = r.rows_per_message
        rows.append([_label(r.fmt, per), _rate(a, per), _rate(a_fast, per), _rate(b, per), _rate(ing, per),
                     _rate(e, per), f"{ratio:.0%}", f"{e / min(a_fast, b):.0%}", tgt, "pass" if ok else "FAIL"])
    headers = ["format", "(a) aiokafka only", "(a+) with fast_io", "(b) decode only", "(b+) ingest, no Kafka",
               "(c) end-to-end", "(c) / lower of (a),(b)", "(c) / lower of (a+),(b)", "target", "result"]
    return markdown_table(headers, rows, align="lrrrrrrrll"), ok_all


def ab_report(results: list[FormatResult]) -> str:
    """The A/B behind ``ingest.worker_process: auto``: end-to-end rate and peak PSS with the ingest worker
    (two processes) and without it (one), measured in the same run, interleaved."""
    from sidecar.config import WORKER_MIN_CPUS
    from sidecar.runtime import available_cpus

    rows = []
    for r in results:
        if not r.e2e_one:
            continue
        two, one, per = median(r.e2e), median(r.e2e_one), r.rows_per_message
        rows.append([_label(r.fmt, per), _rate(two, per), _rate(one, per), f"{two / one:.2f}x",
                     f"{median(r.pss) / 1e6:,.0f} MB", f"{median(r.pss_one) / 1e6:,.0f} MB"])
    cpus = available_cpus()
    picks = "two processes" if cpus >= WORKER_MIN_CPUS else "one process"
    headers = ["format", "(c) two processes", "(c) one process", "two / one", "peak PSS two", "peak PSS one"]
    return (f"A/B of `ingest.worker_process` (median of each, interleaved; this machine: {cpus:g} CPUs available, "
            f"so `auto` picks {picks}):\n\n" + markdown_table(headers, rows, align="lrrrrr"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
                        help="use this broker (default: $KAFKA_BOOTSTRAP_SERVERS, else start one)")
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated (default {','.join(FORMATS)})")
    parser.add_argument("--repeats", type=int, default=None, help="runs per measurement, median shown (default 3)")
    parser.add_argument("--quick", action="store_true", help="fewer messages, one repeat: about a minute")
    parser.add_argument("--long", action="store_true", help="also RSS over 10M rows (Arrow batches)")
    parser.add_argument("--long-rows", type=int, default=10_000_000, help=argparse.SUPPRESS)
    parser.add_argument("--latency-windows", type=int, default=None, help="windows timed for (d) (default 5)")
    parser.add_argument("--json", metavar="FILE", help="also write the raw measurements here")
    parser.add_argument("--no-ab", dest="ab", action="store_false",
                        help="skip the A/B of ingest.worker_process (c run again with the engine in one process)")
    parser.add_argument("--sidecar-cmd", metavar="CMD", help="command for (c)-(e) instead of .venv/bin/sidecar "
                        "(it gets 'run --config FILE' appended), e.g. to compare a patched build")
    args = parser.parse_args(argv)
    if args.sidecar_cmd:
        SidecarProcess.command = shlex.split(args.sidecar_cmd)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        parser.error(f"unknown formats {unknown}; known: {', '.join(FORMATS)}")
    repeats = args.repeats or (1 if args.quick else 3)
    lat_windows = args.latency_windows or (3 if args.quick else 5)
    raw: dict[str, Any] = {"formats": {}, "loadavg_before": os.getloadavg()}
    topics: list[str] = []
    started = time.monotonic()
    with (tempfile.TemporaryDirectory(prefix="stream-bench-") as tmp,
          broker(args.bootstrap, "stream-bench-kafka-") as bootstrap):
        work = Path(tmp)
        contract = build_contract(work / "contracts")
        results: list[FormatResult] = []
        try:
            for fmt in formats:
                n = MESSAGES[fmt][1 if args.quick else 0]
                topic = f"bench-{fmt}-{uuid.uuid4().hex[:8]}"
                topics.append(topic)
                enc = encode(fmt, n)
                asyncio.run(create_topic(bootstrap, topic))
                t = time.perf_counter()
                asyncio.run(produce_bodies(bootstrap, topic, enc.bodies, enc.timestamps_ms))
                size = sum(map(len, enc.bodies))
                print(f"[{fmt}] produced {n:,} messages ({enc.rows:,} rows, {size / 2**20:,.0f} MiB) in "
                      f"{time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
                del enc
                res = FormatResult(fmt, n, rows_per_message(fmt))
                settings = sidecar_settings(bootstrap, topic, fmt, contract, work / "store", f"{topic}-child")
                spec = {"bootstrap": bootstrap, "topic": topic, "messages": n, "repeats": repeats, "format": fmt,
                        "contract": str(contract), "settings": settings}
                ceil = run_child(Path(__file__), spec, timeout=1800)
                res.a, res.a_fast, res.b, res.ingest = ceil["a"], ceil["a_fast"], ceil["b"], ceil["ingest"]
                res.batch_sizes = ceil["batch_sizes"]
                for r in range(repeats):  # two processes, then one, interleaved: load drift hits both
                    out = end_to_end(work, sidecar_settings(bootstrap, topic, fmt, contract, work / "store",
                                                            f"{topic}-e2e{r}", worker_process=True), n)
                    res.e2e.append(out["rate"])
                    res.hwm.append(out["hwm"])
                    res.pss.append(out["pss_peak"])
                    res.busy.append(out["busy"])
                    if args.ab:
                        one = end_to_end(work, sidecar_settings(bootstrap, topic, fmt, contract, work / "store",
                                                                f"{topic}-one{r}", worker_process=False), n)
                        res.e2e_one.append(one["rate"])
                        res.pss_one.append(one["pss_peak"])
                print(f"[{fmt}] (a) {median(res.a):,.0f} (a+) {median(res.a_fast):,.0f} (b) {median(res.b):,.0f} "
                      f"(b+) {median(res.ingest):,.0f} "
                      f"(c) {median(res.e2e):,.0f} messages/s; getmany batches median "
                      f"{median(res.batch_sizes):,.0f} messages; CPU busy (main, worker) {_busy(res)}",
                      file=sys.stderr, flush=True)
                results.append(res)
                raw["formats"][fmt] = res.__dict__

            lat_topic = f"bench-latency-{uuid.uuid4().hex[:8]}"
            topics.append(lat_topic)
            asyncio.run(create_topic(bootstrap, lat_topic))
            latencies = asyncio.run(window_latency(bootstrap, work, contract, lat_topic, lat_windows, 2000))
            raw["latency_seconds"] = latencies

            long_out = None
            if args.long:
                long_out = run_long(bootstrap, work, contract, args.long_rows, topics)
                raw["long"] = long_out
        finally:
            asyncio.run(delete_topics(bootstrap, topics))

    table, ok = report(results)
    hwm = max((max(r.hwm) for r in results), default=0)
    pss = max((max(r.pss) for r in results), default=0)
    lat_med = median(latencies)
    print(
        f"\nStream throughput, 68 features ({N_FLOAT} float, {N_INT} int, {N_CAT} categorical, {N_BOOL} bool, "
        f"{N_DATETIME} datetime), one partition, one sidecar (main process + ingest worker), Kafka 3.9 broker "
        f"on the same {os.cpu_count()}-core machine (nothing pinned), median of {repeats} run(s). Rates are rows/s "
        "(messages/s in parentheses for batch formats).\n"
    )
    print(table)
    print()
    sizes = ", ".join(f"{r.fmt} {median(r.batch_sizes):,.0f}" for r in results)
    print(f"- getmany batch size (messages, median): {sizes}")
    busy = "; ".join(f"{r.fmt} {_busy(r)}" for r in results)
    print(f"- CPU busy during (c), main loop then ingest worker (1.00 = one core): {busy}")
    print(f"- sidecar memory over these runs, main process + ingest worker: peak PSS {pss / 1e6:,.0f} MB "
          f"(target < {TARGET_RSS_BYTES / 1e6:.0f} MB: {'pass' if pss < TARGET_RSS_BYTES else 'FAIL'}); "
          f"sum of the two VmHWM {hwm / 1e6:,.0f} MB (counts shared pages twice)")
    lat_ok = lat_med <= TARGET_LATENCY_SECONDS
    ok &= lat_ok and pss < TARGET_RSS_BYTES
    print(f"- window latency (closing record produced -> window end on /metrics), {len(latencies)} windows: "
          f"median {lat_med * 1000:,.0f} ms, max {max(latencies) * 1000:,.0f} ms "
          f"(target <= {TARGET_LATENCY_SECONDS:.0f} s: {'pass' if lat_ok else 'FAIL'})")
    if long_out is not None:
        samples = ", ".join(f"{rows / 1e6:,.1f}M rows {rss / 1e6:,.0f} MB" for rows, rss in long_out["samples"])
        long_ok = long_out["pss_peak"] < TARGET_RSS_BYTES and long_out["growth"] < 0.10 * TARGET_RSS_BYTES
        ok &= long_ok
        print(f"- memory (PSS, main + worker) over {long_out['rows'] / 1e6:,.0f}M rows (arrow, "
              f"{long_out['windows']} windows closed): {samples}; peak {long_out['pss_peak'] / 1e6:,.0f} MB; "
              f"end-to-end {long_out['rate']:,.0f} rows/s "
              f"(target < {TARGET_RSS_BYTES / 1e6:.0f} MB and flat: {'pass' if long_ok else 'FAIL'})")
    if any(r.e2e_one for r in results):
        print()
        print(ab_report(results))
    load = os.getloadavg()
    raw["loadavg_after"] = load
    before = raw["loadavg_before"][0]
    busy = " (other work was running: it shares the cores and every rate reads low)" if before > 0.5 else ""
    print(f"- wall time of the benchmark: {time.monotonic() - started:,.0f} s; 1-minute load average before the "
          f"run {before:.2f}{busy}, at the end {load[0]:.2f} (includes this run)")
    print(f"- every target met: {'yes' if ok else 'no'}")
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=2, default=str), encoding="utf-8")
    return 0


def run_long(bootstrap: str, work: Path, contract: Path, total_rows: int, topics: list[str]) -> dict[str, Any]:
    """(e): 1M distinct rows of Arrow batches sent until ``total_rows``, one window per 1M rows."""
    per = ROWS_PER_ARROW_MESSAGE
    distinct = min(total_rows, 1_000_000) // per
    enc = encode("arrow", distinct)
    reps = total_rows // (distinct * per)
    topic = f"bench-long-{uuid.uuid4().hex[:8]}"
    topics.append(topic)
    asyncio.run(create_topic(bootstrap, topic))
    bodies, stamps = [], []
    for rep in range(reps):
        base = (T0 + rep * WINDOW_SECONDS) * 1000
        step = WINDOW_SECONDS * 1000 / distinct
        bodies.extend(enc.bodies)
        stamps.extend(int(base + i * step) for i in range(distinct))
    t = time.perf_counter()
    asyncio.run(produce_bodies(bootstrap, topic, bodies, stamps))
    print(f"[long] produced {len(bodies):,} messages ({len(bodies) * per:,} rows) in {time.perf_counter() - t:.1f} s",
          file=sys.stderr, flush=True)
    n = len(bodies)
    marks = tuple(sorted({m for m in (1_000_000 // per, 5_000_000 // per, n) if m <= n}))
    out = end_to_end(work, sidecar_settings(bootstrap, topic, "arrow", contract, work / "store-long",
                                            f"{topic}-g"), n, marks=marks)
    samples = [(out["samples"][m][0] * per, out["samples"][m][1]) for m in marks]
    return {"rows": n * per, "samples": samples, "hwm": out["hwm"], "pss_peak": out["pss_peak"],
            "rate": out["rate"] * per,
            "windows": round(max(out["window_end"] - T0, 0) / WINDOW_SECONDS), "growth": samples[-1][1] - samples[0][1]}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == CHILD_FLAG:
        sys.path.insert(0, str(REPO))
        child(json.loads(sys.argv[2]))
    else:
        sys.exit(main())
