"""Throughput and state size of ``sidecar join`` against a real local Kafka broker, next to the rate a
do-nothing faust app consumes the same two topics at (the ceiling), in the same run.

What it measures
----------------
``--pairs`` predictions (``record``-style JSON with ``request_id``, ``timestamp``, ``score``, keyed by
request id) and as many outcomes (``request_id``, ``timestamp`` a minute later, ``label``) are produced to
two fresh one-partition topics. Then, each in a fresh child interpreter with one thread per pool
(``_common.child_env``; not pinned, the broker needs the other core):

(a) **ceiling**: a faust-streaming app with one agent per topic that iterates ``stream.events()`` and does
    nothing else; the time from its first event to the last of both topics;
(b) **join**: the joiner (:func:`sidecar.join.create_join_app`, RocksDB store, the settings ``sidecar join``
    runs with) over the same topics, until every pair is joined; the time from its first event to the
    last pair. Rates are pairs per second (two events each);
(c) **pending state**: ``--pending`` predictions without outcomes are produced to a third topic and joined
    into a RocksDB table; the joiner stops (closing RocksDB, which flushes it) and the bytes of the table's
    RocksDB directory, divided by the entries, are the bytes per pending prediction;
(d) **restart**: a new joiner process opens the same data directory and group, with one more prediction
    waiting in the topic; the time from its start until that prediction is processed, and the number of
    waiting predictions its table holds then (all of them must have survived).

Targets (issue 12): (b) at least 70 % of (a) and at least 5,000 pairs/s; (c) under 500 bytes per pending
prediction; (d) every pending prediction survives and the joiner consumes again within 60 s. The script
exits 1 if one is missed.

Usage::

    .venv/bin/python benchmarks/join_throughput.py                 # 200,000 pairs, 1,000,000 pending
    .venv/bin/python benchmarks/join_throughput.py --pairs 20000 --pending 20000   # smoke run
    .venv/bin/python benchmarks/join_throughput.py --bootstrap 127.0.0.1:9092

Without ``--bootstrap`` (or ``KAFKA_BOOTSTRAP_SERVERS``) the script starts its own broker with
``scripts/kafka-local`` in a temporary directory and always stops it. Topics it creates are deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CHILD_FLAG, broker, delete_topics, markdown_table, produce, run_child, write_child_result

T0 = 1_800_000_000.0
TARGET_SHARE = 0.70
TARGET_PAIRS_PER_S = 5_000.0
TARGET_BYTES = 500.0
TARGET_RESTART_S = 60.0


# -- topics ---------------------------------------------------------------------------------------------
async def create_topics(bootstrap: str, topics: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 1, 1) for t in topics])
    finally:
        await admin.close()


def prediction(i: int, prefix: str = "r") -> tuple[bytes, bytes]:
    rid = f"{prefix}{i:09d}"
    score = ((i * 7919) % 1000) / 1000.0
    return rid.encode(), json.dumps({"request_id": rid, "timestamp": T0 + i * 0.001, "score": score}).encode()


def outcome(i: int) -> tuple[bytes, bytes]:
    rid = f"r{i:09d}"
    label = int(((i * 7919) % 1000) / 1000.0 > 0.5) ^ int(i % 10 == 0)
    return rid.encode(), json.dumps({"request_id": rid, "timestamp": T0 + i * 0.001 + 60, "label": label}).encode()


def keyed(records: Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes, None]]:
    """``(key, value)`` pairs as ``_common.produce`` records (the broker stamps the time)."""
    return ((key, value, None) for key, value in records)


# -- the measuring child --------------------------------------------------------------------------------
async def run_until(app: Any, events: Callable[[], int], done: Callable[[], bool], timeout: float,
                    before_stop: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Start the faust app, poll every 5 ms; returns seconds from start to first event and first to done
    (and what ``before_stop`` returned, read while the app still runs)."""
    started = time.perf_counter()
    await app.start()
    first = None
    deadline = started + timeout
    try:
        while not done():
            if first is None and events() > 0:
                first = time.perf_counter()
            if time.perf_counter() > deadline:
                raise TimeoutError(f"not done in {timeout} s ({events()} events)")
            await asyncio.sleep(0.005)
        end = time.perf_counter()
        extra = before_stop() if before_stop is not None else None
    finally:
        await app.stop()
    first = end if first is None else first
    return {"to_first": first - started, "seconds": end - first, "to_done": end - started, "extra": extra}


def join_settings(spec: dict[str, Any], predictions: str, outcomes: str) -> Any:
    from sidecar.config import Settings

    return Settings(model="bench", kafka={"bootstrap_servers": spec["bootstrap"], "group_id": spec["group"]},
                    alerts={"topic": None}, store={"path": str(Path(spec["data_dir"]) / "store")},
                    join={"predictions_topic": predictions, "outcomes_topic": outcomes, "store": "rocksdb",
                          "data_dir": spec["data_dir"], "http": {"port": 0}, "ttl_seconds": 10 * 365 * 86400.0,
                          "sweep_seconds": 3600.0, "session_timeout_seconds": 10})


def child(spec: dict[str, Any]) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    mode = spec["mode"]
    result: dict[str, Any]
    if mode == "ceiling":
        import faust

        app = faust.App(spec["group"], broker=f"kafka://{spec['bootstrap']}", store="memory://", web_enabled=False,
                        autodiscover=False, broker_session_timeout=10)
        seen = [0]

        async def nothing(stream: Any) -> None:
            async for _event in stream.events():
                seen[0] += 1

        for name in (spec["predictions"], spec["outcomes"]):
            topic = app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
            app.agent(topic, name=f"nothing-{name}")(nothing)
        total = 2 * spec["pairs"]
        result = asyncio.run(run_until(app, lambda: seen[0], lambda: seen[0] >= total, spec["timeout"]))
    else:
        from sidecar.join import create_join_app

        outcomes = spec.get("outcomes") or f"{spec['predictions']}.none"
        join = create_join_app(join_settings(spec, spec["predictions"], outcomes))
        counts = join.joiner.counts

        def events() -> int:
            return counts["prediction"] + counts["outcome"]

        if mode == "join":
            result = asyncio.run(run_until(join.faust, events, lambda: counts["joined"] >= spec["pairs"],
                                           spec["timeout"]))
        elif mode == "pending":
            result = asyncio.run(run_until(join.faust, events, lambda: counts["prediction"] >= spec["pending"],
                                           spec["timeout"]))
            files = [p for p in Path(spec["data_dir"]).rglob("*") if p.is_file() and "pairs" in str(p)
                     and "backups" not in str(p)]
            result["table_bytes"] = sum(p.stat().st_size for p in files)
        else:  # restart: one more prediction is waiting in the topic
            result = asyncio.run(run_until(join.faust, events, lambda: counts["prediction"] >= 1, spec["timeout"],
                                           before_stop=lambda: sum(1 for _ in join.table.data)))
            result["entries"] = result["extra"]
        result["counts"] = dict(counts)
    write_child_result(spec["result_file"], result)


# -- the parent ----------------------------------------------------------------------------------------
def measure(bootstrap: str, pairs: int, pending: int, work: Path, timeout: float) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    predictions, outcomes, waiting = f"jb-pred-{run}", f"jb-out-{run}", f"jb-wait-{run}"
    topics = [predictions, outcomes, waiting, f"{waiting}.none"]
    asyncio.run(create_topics(bootstrap, topics))
    try:
        t = time.perf_counter()
        asyncio.run(produce(bootstrap, predictions, keyed(prediction(i) for i in range(pairs))))
        asyncio.run(produce(bootstrap, outcomes, keyed(outcome(i) for i in range(pairs))))
        asyncio.run(produce(bootstrap, waiting, keyed(prediction(i, "w") for i in range(pending))))
        print(f"produced {2 * pairs + pending:,} messages in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        base = {"bootstrap": bootstrap, "pairs": pairs, "pending": pending, "timeout": timeout}
        script = Path(__file__)
        ceiling = run_child(script, {**base, "mode": "ceiling", "group": f"jb-ceil-{run}", "predictions": predictions,
                                     "outcomes": outcomes}, timeout=timeout + 60)
        joined = run_child(script, {**base, "mode": "join", "group": f"jb-join-{run}", "predictions": predictions,
                                    "outcomes": outcomes, "data_dir": str(work / "join")}, timeout=timeout + 60)
        state = {**base, "group": f"jb-wait-{run}", "predictions": waiting, "data_dir": str(work / "pending")}
        held = run_child(script, {**state, "mode": "pending"}, timeout=timeout + 60)
        asyncio.run(produce(bootstrap, waiting, keyed(iter([prediction(pending, "w")]))))
        again = run_child(script, {**state, "mode": "restart"}, timeout=timeout + 60)
    finally:
        asyncio.run(delete_topics(bootstrap, topics))
    return {"pairs": pairs, "pending": pending, "ceiling": ceiling, "join": joined, "held": held, "restart": again}


def report(m: dict[str, Any]) -> tuple[str, bool]:
    ceiling = m["pairs"] / m["ceiling"]["seconds"]
    rate = m["pairs"] / m["join"]["seconds"]
    per_entry = m["held"]["table_bytes"] / max(1, m["pending"])
    survived = m["restart"]["entries"] >= m["pending"] + 1
    back = m["restart"]["to_done"]
    checks = [rate >= TARGET_SHARE * ceiling, rate >= TARGET_PAIRS_PER_S, per_entry < TARGET_BYTES, survived,
              back < TARGET_RESTART_S]
    rows = [
        ["do-nothing faust app (ceiling)", f"{ceiling:,.0f} pairs/s", "", ""],
        ["sidecar join (RocksDB)", f"{rate:,.0f} pairs/s", f"{rate / ceiling:.0%} of ceiling",
         f">= 70 %, >= 5,000/s: {'ok' if checks[0] and checks[1] else 'MISSED'}"],
        [f"{m['pending']:,} pending predictions", f"{per_entry:,.0f} bytes each",
         f"{m['held']['table_bytes'] / 2**20:,.1f} MiB on disk", f"< 500: {'ok' if checks[2] else 'MISSED'}"],
        ["restart with them", f"consuming after {back:.1f} s", f"{m['restart']['entries']:,} entries recovered",
         f"all, < 60 s: {'ok' if checks[3] and checks[4] else 'MISSED'}"],
    ]
    table = markdown_table(["what", "measured", "", "target"], rows, align="lrrl")
    title = f"### sidecar join: {m['pairs']:,} pairs, {m['pending']:,} pending (one partition, {os.cpu_count()} CPUs)"
    return f"{title}\n\n{table}\n", all(checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
                        help="use this broker (default: $KAFKA_BOOTSTRAP_SERVERS, else start one)")
    parser.add_argument("--pairs", type=int, default=200_000, help="predictions with outcomes (default 200,000)")
    parser.add_argument("--pending", type=int, default=1_000_000, help="predictions left waiting (default 1M)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds each measurement may take")
    parser.add_argument("--json", metavar="FILE", help="also write the raw measurements here")
    parser.add_argument(CHILD_FLAG, dest="child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    with (tempfile.TemporaryDirectory(prefix="join-bench-") as tmp,
          broker(args.bootstrap, "join-bench-kafka-") as bootstrap):
        m = measure(bootstrap, args.pairs, args.pending, Path(tmp), args.timeout)
    text, ok = report(m)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(m, indent=2), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
