"""Decode-only throughput per message format: the ceiling for the sidecar's end-to-end stream throughput.

Generates rows of 68 features (40 float, 15 int, 10 categorical, 2 boolean, 1 datetime), encodes them in
each format the decoders read, and times ``decoder.decode(batch)`` alone (no Kafka, no profile update).
Each format runs in a fresh interpreter pinned to one core with every thread pool at one thread
(``_common.run_child``); the table shows the median of 5 runs, with rates computed from the process's CPU
time (wall time is shown beside it: on a shared machine it also counts time spent waiting for the core).
The generated messages are frozen out of the garbage collector's view (``gc.freeze``) before timing: they
are the benchmark's setup, not decoder state.

Usage::

    .venv/bin/python benchmarks/decode_micro.py [--rows 60000] [--batch 500] [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

from _common import CHILD_FLAG, markdown_table, median, pin_one_core, run_child, write_child_result

N_FLOAT, N_INT, N_CAT, N_BOOL, N_DATETIME = 40, 15, 10, 2, 1
ROWS_PER_COLUMN_MESSAGE = 500
ROWS_PER_ARROW_MESSAGE = 5000

# (label, format given to make_decoder, how messages are encoded)
CASES: list[tuple[str, str, str]] = [
    ("record", "record", "record"),
    ("flat", "flat", "flat"),
    ("columns (500 rows/msg)", "columns", "columns"),
    ("oip V2 request (1 row/msg)", "oip", "oip"),
    ("arrow (5000 rows/msg)", "arrow", "arrow"),
    ("auto on record", "auto", "record"),
    ("auto on a mix of all", "auto", "mixed"),
    ("record in CloudEvents binary", "record", "record_ce"),
    ("flat in CloudEvents structured", "flat", "flat_ce"),
]


def schema() -> dict[str, str]:
    """The 68 contract columns and their kinds."""
    columns: dict[str, str] = {}
    columns.update({f"f{i}": "numeric" for i in range(N_FLOAT)})
    columns.update({f"i{i}": "numeric" for i in range(N_INT)})
    columns.update({f"c{i}": "categorical" for i in range(N_CAT)})
    columns.update({f"b{i}": "boolean" for i in range(N_BOOL)})
    columns.update({f"d{i}": "datetime" for i in range(N_DATETIME)})
    return columns


def make_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` rows of the 68 features, as a producer would serialise them (datetimes as RFC 3339)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    floats = rng.normal(50.0, 20.0, (n, N_FLOAT)).round(4)
    ints = rng.integers(0, 10_000, (n, N_INT))
    plans = np.array(["basic", "plus", "pro", "team", "enterprise", "trial", "edu", "gov"])
    cats = rng.integers(0, len(plans), (n, N_CAT))
    bools = rng.random((n, N_BOOL)) > 0.5
    seconds = rng.integers(0, 86_400, n)
    rows: list[dict[str, Any]] = []
    for r in range(n):
        row: dict[str, Any] = {f"f{i}": float(floats[r, i]) for i in range(N_FLOAT)}
        row.update({f"i{i}": int(ints[r, i]) for i in range(N_INT)})
        row.update({f"c{i}": str(plans[cats[r, i]]) for i in range(N_CAT)})
        row.update({f"b{i}": bool(bools[r, i]) for i in range(N_BOOL)})
        s = int(seconds[r])
        row["d0"] = f"2026-11-26T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"
        if r % 50 == 0:
            row["f0"] = None  # some nulls, as real traffic has
        rows.append(row)
    return rows


def encode(kind: str, rows: list[dict[str, Any]]) -> list[Any]:
    """Encode rows as ``RawMessage`` objects of the given kind."""
    import orjson
    import pyarrow as pa

    from sidecar.decoders import RawMessage

    base_ms = 1_795_687_200_000
    if kind == "record":
        return [
            RawMessage(
                orjson.dumps({"request_id": f"r{i}", "timestamp": "2026-11-26T10:00:00Z", "values": row}),
                timestamp_ms=base_ms + i,
            )
            for i, row in enumerate(rows)
        ]
    if kind == "flat":
        return [
            RawMessage(orjson.dumps({**row, "request_id": f"r{i}"}), timestamp_ms=base_ms + i)
            for i, row in enumerate(rows)
        ]
    if kind == "record_ce":
        return [
            RawMessage(
                orjson.dumps({"values": row}),
                headers=(
                    ("ce_specversion", b"1.0"),
                    ("ce_id", f"r{i}".encode()),
                    ("ce_time", b"2026-11-26T10:00:00Z"),
                    ("ce_type", b"org.kubeflow.serving.inference.request"),
                    ("ce_source", b"http://localhost:9081/"),
                    ("content-type", b"application/json"),
                ),
                timestamp_ms=base_ms + i,
            )
            for i, row in enumerate(rows)
        ]
    if kind == "flat_ce":
        return [
            RawMessage(
                orjson.dumps(
                    {
                        "specversion": "1.0",
                        "id": f"r{i}",
                        "source": "bench",
                        "type": "inference.request",
                        "time": "2026-11-26T10:00:00Z",
                        "datacontenttype": "application/json",
                        "data": row,
                    }
                )
            )
            for i, row in enumerate(rows)
        ]
    if kind == "columns":
        messages = []
        for start in range(0, len(rows), ROWS_PER_COLUMN_MESSAGE):
            chunk = rows[start : start + ROWS_PER_COLUMN_MESSAGE]
            body = {
                "request_id": [f"r{start + j}" for j in range(len(chunk))],
                "timestamp": "2026-11-26T10:00:00Z",
                "columns": {name: [row[name] for row in chunk] for name in chunk[0]},
            }
            messages.append(RawMessage(orjson.dumps(body), timestamp_ms=base_ms + start))
        return messages
    if kind == "oip":
        numeric = [f"f{i}" for i in range(N_FLOAT)] + [f"i{i}" for i in range(N_INT)]
        cats = [f"c{i}" for i in range(N_CAT)]
        bools = [f"b{i}" for i in range(N_BOOL)]
        return [
            RawMessage(
                orjson.dumps(
                    {
                        "id": f"r{i}",
                        "inputs": [
                            {
                                "name": "numeric",
                                "shape": [1, len(numeric)],
                                "datatype": "FP64",
                                "data": [row[c] for c in numeric],
                            },
                            {
                                "name": "categorical",
                                "shape": [1, len(cats)],
                                "datatype": "BYTES",
                                "data": [row[c] for c in cats],
                            },
                            {
                                "name": "flags",
                                "shape": [1, len(bools)],
                                "datatype": "BOOL",
                                "data": [row[c] for c in bools],
                            },
                            {"name": "d0", "shape": [1], "datatype": "BYTES", "data": [row["d0"]]},
                        ],
                    }
                ),
                timestamp_ms=base_ms + i,
            )
            for i, row in enumerate(rows)
        ]
    if kind == "arrow":
        messages = []
        for start in range(0, len(rows), ROWS_PER_ARROW_MESSAGE):
            chunk = rows[start : start + ROWS_PER_ARROW_MESSAGE]
            table = pa.table({name: [row[name] for row in chunk] for name in chunk[0]})
            table = table.set_column(
                table.schema.get_field_index("d0"),
                "d0",
                table.column("d0").cast(pa.timestamp("us", "UTC")),
            )
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            messages.append(RawMessage(sink.getvalue().to_pybytes(), timestamp_ms=base_ms + start))
        return messages
    if kind == "mixed":
        fifth = max(len(rows) // 5, 1)
        parts = [
            encode("record", rows[:fifth]),
            encode("flat", rows[fifth : 2 * fifth]),
            encode("columns", rows[2 * fifth : 3 * fifth]),
            encode("oip", rows[3 * fifth : 4 * fifth]),
            encode("arrow", rows[4 * fifth :]),
        ]
        # Interleave so every batch holds every format, as on a shared topic.
        mixed: list[Any] = []
        longest = max(len(p) for p in parts)
        for i in range(longest):
            mixed.extend(p[i] for p in parts if i < len(p))
        return mixed
    raise ValueError(f"unknown encoding {kind!r}")


def child(spec: dict[str, Any]) -> None:
    """Measure one case in this (fresh, pinned) process and write the result for the parent."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sidecar.decoders import make_decoder

    cpu = pin_one_core()
    messages = encode(spec["encoding"], make_rows(spec["rows"]))
    # The prepared messages are input, not part of the decoder's heap: in the sidecar each getmany batch is
    # fresh and short-lived. Freezing keeps the cyclic GC from rescanning this large setup heap in every
    # full collection, which would charge the decoder for the benchmark's own memory.
    gc.collect()
    gc.freeze()
    oip_columns = {
        "numeric": [f"f{i}" for i in range(N_FLOAT)] + [f"i{i}" for i in range(N_INT)],
        "categorical": [f"c{i}" for i in range(N_CAT)],
        "flags": [f"b{i}" for i in range(N_BOOL)],
    }
    decoder = make_decoder(spec["format"], schema(), oip_columns=oip_columns)
    batch_size = spec["batch"]
    batches = [messages[i : i + batch_size] for i in range(0, len(messages), batch_size)]
    decoder.decode(batches[0])  # warm-up: imports, caches
    seconds: list[float] = []
    wall: list[float] = []
    n_rows = 0
    for _ in range(spec["runs"]):
        # CPU time of this process: on a shared machine another process on the same core inflates wall time
        # but not this. Wall time is kept to show how much contention there was.
        started, started_wall = time.process_time(), time.perf_counter()
        n_rows = 0
        for batch in batches:
            decoded = decoder.decode(batch)
            if decoded.errors:
                raise RuntimeError(f"benchmark data rejected: {decoded.errors[:3]}")
            n_rows += decoded.n_rows
        seconds.append(time.process_time() - started)
        wall.append(time.perf_counter() - started_wall)
    write_child_result(
        spec["result_file"],
        {"messages": len(messages), "rows": n_rows, "seconds": seconds, "wall": wall, "cpu": cpu},
    )


def main(argv: list[str] | None = None) -> int:
    """Run every case in its own child process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=60_000, help="rows per case (default 60000)")
    parser.add_argument("--batch", type=int, default=500, help="messages per decode call (default 500)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case; the median is shown")
    args = parser.parse_args(argv)
    table = []
    for label, fmt, encoding in CASES:
        spec = {"format": fmt, "encoding": encoding, "rows": args.rows, "batch": args.batch, "runs": args.runs}
        result = run_child(Path(__file__), spec)
        seconds = median(result["seconds"])
        table.append(
            [
                label,
                f"{result['messages']:,}",
                f"{result['rows']:,}",
                f"{seconds * 1000:,.0f} ms",
                f"{median(result['wall']) * 1000:,.0f} ms",
                f"{result['messages'] / seconds:,.0f}",
                f"{result['rows'] / seconds:,.0f}",
            ]
        )
    print(
        f"Decode only, 68 features ({N_FLOAT} float, {N_INT} int, {N_CAT} categorical, {N_BOOL} bool, "
        f"{N_DATETIME} datetime), {args.batch} messages per decode call, one core, median of {args.runs} runs; "
        "rates from CPU time\n"
    )
    print(markdown_table(["format", "messages", "rows", "CPU time", "wall time", "messages/s", "rows/s"], table))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == CHILD_FLAG:
        child(json.loads(sys.argv[2]))
    else:
        sys.exit(main())
