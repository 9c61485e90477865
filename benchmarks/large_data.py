"""Larger-than-memory benchmark: ``sidecar contract create`` and ``sidecar validate`` on a 20M-row data set.

What it measures
----------------
A deterministic 30-column Parquet data set (14 float with NaN, 7 int, 7 categorical string, 4 as Parquet
dictionaries that read as pandas ``category`` and 3 as plain strings, 2 bool) of ``--rows`` rows (default
20,000,000, about 3 GB as float64/object in pandas) is written in row groups of at most 1M rows to a
temporary directory, with a drifted copy of the same size as the current data. Then

* **full size**: ``.venv/bin/sidecar contract create`` on the reference and ``.venv/bin/sidecar validate``
  of the drifted copy run as child processes; each one's wall time and peak RSS (``ru_maxrss`` of
  ``RUSAGE_CHILDREN`` in a fresh wrapper child whose only child is the command, so nothing is missed
  between polls) are printed against the 600 MB ceiling;
* **sample**: the first 1M rows of both data sets (several row groups) are validated both ways in fresh
  child processes: in memory (``DataContract(name, pd.read_parquet(...))``, ``contract.validate(df)``) and
  chunked (the CLI, and ``create_from_source`` / ``validate_source`` of the SDK with a chunk size that
  cuts row groups mid-way). The contract bodies (``_body()``; ``created_at`` is not in it) and the reports
  (minus ``created_at``) must be equal; their times are printed side by side.

Usage::

    .venv/bin/python benchmarks/large_data.py                   # 20M rows: about 10 minutes, 2.5 GB of /tmp
    .venv/bin/python benchmarks/large_data.py --rows 200000     # quick run
    .venv/bin/python benchmarks/large_data.py --json out.json

Exits 1 when a peak reaches the ceiling or the in-memory and chunked results differ.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

# benchmarks/ is a folder of scripts, not a package; the repo root makes `sidecar` importable uninstalled.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import (
    CHILD_FLAG,
    THREAD_ENV,
    fmt_bytes,
    fmt_seconds,
    markdown_table,
    run_child,
    write_child_result,
)

SEED = 20261210
ROOT = Path(__file__).resolve().parents[1]
SIDECAR = ROOT / ".venv" / "bin" / "sidecar"
#: The issue's ceiling for peak RSS of create and validate at 20M rows.
CEILING = 600 * 10**6
#: Rows per Parquet row group (pyarrow's default is 1Mi rows; smaller data sets still get eight groups).
GROUP_ROWS = 1_000_000
SAMPLE_ROWS = 1_000_000
#: Chunk size of the sample's SDK run: not a divisor of the row groups, so chunks straddle them.
SAMPLE_CHUNK_ROWS = 77_777
N_FLOAT, N_INT, N_CAT, N_BOOL = 14, 7, 7, 2
CAT_SIZES = (4, 9, 25, 60, 150, 400, 1000)
POLL_SECONDS = 0.02


# -- data ---------------------------------------------------------------------------------------------
def _group(rows: int, seed: int, index: int, drifted: bool) -> Any:
    """One row group as a pyarrow Table; deterministic for (seed, index, drifted)."""
    import pyarrow as pa

    rng = np.random.default_rng([seed, int(drifted), index])
    cols: dict[str, Any] = {}
    for j in range(N_FLOAT):
        family = j % 3
        if family == 0:
            x = rng.normal(5.0 * j, 1.0 + j % 4, rows)
        elif family == 1:
            x = rng.lognormal(1.0, 0.4 + 0.05 * j, rows)
        else:
            x = rng.uniform(0.0, 100.0, rows)
        if drifted and j % 4 == 0:
            x += 0.3 * (1.0 + j % 4)  # location shift of about a third of a standard deviation
        x[rng.random(rows) < (0.0, 0.01, 0.05)[j % 3] + (0.04 if drifted and j % 4 == 1 else 0.0)] = np.nan
        cols[f"f{j:02d}"] = x
    for j in range(N_INT):
        if j % 3 == 0:
            v = rng.integers(0, 12 if drifted and j == 3 else 10, rows)
        elif j % 3 == 1:
            v = rng.poisson(20 + 3 * j, rows)
        else:
            v = rng.integers(0, 10**9, rows)  # wide, almost unique
        cols[f"i{j:02d}"] = v.astype(np.int64)
    for j in range(N_CAT):
        n = CAT_SIZES[j]
        names = [f"c{j}_{k:04d}" for k in range(n + 3)]  # three extra names only the drifted data uses
        weights = 1.0 / np.arange(1, n + 1) ** 1.1
        codes = rng.choice(n, size=rows, p=weights / weights.sum()).astype(np.int32)
        if drifted and j % 2 == 0:
            new = rng.random(rows) < 0.05
            codes[new] = n + rng.integers(0, 3, int(new.sum()), dtype=np.int32)
        mask = rng.random(rows) < 0.02 * (j % 3)
        arr = pa.DictionaryArray.from_arrays(pa.array(codes, mask=mask), pa.array(names))
        cols[f"c{j:02d}"] = arr if j % 2 == 0 else arr.cast(pa.string())
    for j in range(N_BOOL):
        cols[f"b{j}"] = rng.random(rows) < (0.3 + 0.3 * j + (0.08 if drifted else 0.0))
    return pa.table(cols)


def write_dataset(path: Path, rows: int, seed: int, *, drifted: bool) -> int:
    """Write ``rows`` rows to ``path`` in row groups; returns the number of row groups."""
    import pyarrow.parquet as pq

    group = max(1, min(GROUP_ROWS, -(-rows // 8)))
    writer = None
    done = index = 0
    try:
        while done < rows:
            n = min(group, rows - done)
            table = _group(n, seed, index, drifted)
            if writer is None:
                writer = pq.ParquetWriter(path, _with_pandas_metadata(table.schema))
            writer.write_table(table, row_group_size=n)
            done += n
            index += 1
    finally:
        if writer is not None:
            writer.close()
    return index


def _with_pandas_metadata(schema: Any) -> Any:
    """The schema with pandas' metadata, so dictionary columns read back as ``category`` (as pandas writes)."""
    import pyarrow as pa

    empty = pa.Table.from_pandas(schema.empty_table().to_pandas(), preserve_index=False)
    return schema.with_metadata(empty.schema.metadata)


def write_sample(source: Path, path: Path, rows: int) -> int:
    """The first ``rows`` rows of ``source`` into ``path``, in several row groups; returns the rows written."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(source)
    group = max(1, -(-min(rows, pf.metadata.num_rows) // 4))
    done = 0
    with pq.ParquetWriter(path, pf.schema_arrow) as writer:
        for batch in pf.iter_batches(batch_size=group):
            batch = batch.slice(0, rows - done)
            writer.write_batch(batch, row_group_size=group)
            done += batch.num_rows
            if done >= rows:
                break
    return done


# -- children -----------------------------------------------------------------------------------------
def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _report_json(text: str) -> str:
    """A report's JSON without its ``created_at`` (the one field two runs never share)."""
    data = json.loads(text)
    data.pop("created_at", None)
    return _canonical(data)


def _peak() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def child_main(spec: dict[str, Any]) -> None:
    """One measured run in a fresh interpreter (see the module docstring)."""
    mode = spec["mode"]
    if mode == "command":
        # A wrapper whose only child is the command: RUSAGE_CHILDREN's ru_maxrss is then that command's peak.
        env = dict(os.environ)
        env.update({k: v for k, v in spec["env"].items() if v is not None})
        for k in (k for k, v in spec["env"].items() if v is None):
            env.pop(k, None)
        start = time.perf_counter()
        proc = subprocess.run(spec["cmd"], env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # kB on Linux
        write_child_result(spec["result_file"], {"seconds": seconds, "peak": peak, "returncode": proc.returncode,
                                                 "stderr": proc.stderr[-2000:], "stdout": proc.stdout[-2000:]})
        return
    from sidecar.contract import DataContract
    from sidecar.contract.chunked import create_from_source, validate_source
    from sidecar.io import hints_from_specs, read_frame

    out: dict[str, Any] = {}
    contract = DataContract.load(spec["contracts"], "large")  # the CLI's, so reports name the same version
    if mode == "memory":
        start = time.perf_counter()
        reference = read_frame(spec["reference"])
        out["read_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        body = DataContract("large", reference)._body()
        out["create_seconds"] = time.perf_counter() - start
        del reference
        start = time.perf_counter()
        current = read_frame(spec["current"], hints=hints_from_specs(contract.reference.specs))
        out["read_seconds"] += time.perf_counter() - start
        start = time.perf_counter()
        report = contract.validate(current)
        out["validate_seconds"] = time.perf_counter() - start
    else:
        start = time.perf_counter()
        body = create_from_source("large", spec["reference"], chunk_rows=SAMPLE_CHUNK_ROWS)._body()
        out["create_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        report = validate_source(contract, spec["current"], chunk_rows=SAMPLE_CHUNK_ROWS)
        out["validate_seconds"] = time.perf_counter() - start
    out.update(body=_canonical(body), report=_report_json(report.to_json()), peak=_peak())
    write_child_result(spec["result_file"], out)


# -- orchestration (parent) ---------------------------------------------------------------------------
def run_command(args: list[str]) -> dict[str, Any]:
    """Run the sidecar CLI with ``args`` under a fresh wrapper child; its time, peak RSS and exit code."""
    # The CLI runs as a user runs it: the thread settings of this shell, not the children's one thread.
    env = {k: os.environ.get(k) for k in THREAD_ENV}
    result = run_child(__file__, {"mode": "command", "cmd": [str(SIDECAR), *args], "env": env})
    if result["returncode"] not in (0, 1):  # 1: validate found a problem, which drifted data should
        raise RuntimeError(f"sidecar {' '.join(args)} exited {result['returncode']}:\n{result['stderr']}")
    return result


def measure(rows: int, sample_rows: int, seed: int, workdir: Path, log: Any) -> dict[str, Any]:
    """Generate the data, run every measurement; every number of the tables."""
    out: dict[str, Any] = {"rows": rows, "sample_rows": sample_rows}
    ref, cur = workdir / "reference.parquet", workdir / "current.parquet"
    start = time.perf_counter()
    out["row_groups"] = write_dataset(ref, rows, seed, drifted=False)
    write_dataset(cur, rows, seed, drifted=True)
    out["generate_seconds"] = time.perf_counter() - start
    out["dataset_bytes"] = ref.stat().st_size
    print(f"  wrote 2 x {rows:,} rows in {out['row_groups']} row groups ({fmt_bytes(out['dataset_bytes'])} each) "
          f"in {fmt_seconds(out['generate_seconds'])}", file=log, flush=True)

    contracts = workdir / "contracts"
    full: dict[str, Any] = {}
    full["create"] = run_command(["contract", "create", "--quiet", "--name", "large", "--reference", str(ref),
                                  "--out", str(contracts)])
    print(f"  create: {fmt_seconds(full['create']['seconds'])}, peak {fmt_bytes(full['create']['peak'])}",
          file=log, flush=True)
    full["validate"] = run_command(["validate", "--quiet", "--contract", str(contracts / "large"), "--data", str(cur),
                                    "--json", str(workdir / "report.json")])
    full["validate"]["status"] = json.loads((workdir / "report.json").read_text(encoding="utf-8"))["status"]
    print(f"  validate: {fmt_seconds(full['validate']['seconds'])}, peak {fmt_bytes(full['validate']['peak'])}",
          file=log, flush=True)
    out["full"] = full

    s_ref, s_cur, s_contracts = workdir / "sample-ref.parquet", workdir / "sample-cur.parquet", workdir / "sample"
    out["sample_rows"] = write_sample(ref, s_ref, sample_rows)
    write_sample(cur, s_cur, sample_rows)
    for path in (ref, cur):
        path.unlink()  # the full data sets are no longer needed; free the disk before the sample runs
    sample: dict[str, Any] = {}
    sample["cli_create"] = run_command(["contract", "create", "--quiet", "--name", "large", "--reference", str(s_ref),
                                        "--out", str(s_contracts)])
    sample["cli_validate"] = run_command(["validate", "--quiet", "--contract", str(s_contracts / "large"),
                                          "--data", str(s_cur), "--json", str(workdir / "sample-report.json")])
    spec = {"reference": str(s_ref), "current": str(s_cur), "contracts": str(s_contracts)}
    sample["memory"] = run_child(__file__, {**spec, "mode": "memory"})
    sample["chunked"] = run_child(__file__, {**spec, "mode": "chunked"})
    cli_body = _canonical(_saved_body(s_contracts / "large" / "v1.json"))
    cli_report = _report_json((workdir / "sample-report.json").read_text(encoding="utf-8"))
    memory, chunked = sample.pop("memory"), sample.pop("chunked")
    sample["bodies_equal"] = memory["body"] == chunked["body"] == cli_body
    sample["reports_equal"] = memory["report"] == chunked["report"] == cli_report
    sample["status"] = json.loads(memory["report"])["status"]
    sample["memory"] = {k: v for k, v in memory.items() if k not in ("body", "report")}
    sample["chunked"] = {k: v for k, v in chunked.items() if k not in ("body", "report")}
    out["sample"] = sample
    return out


def _saved_body(path: Path) -> Any:
    """The ``_body()`` of a saved contract file: the file's JSON without what saving adds."""
    from sidecar.contract import DataContract

    return DataContract.from_file(path)._body()


def render(result: dict[str, Any]) -> str:
    """The Markdown tables."""
    rows, full, sample = result["rows"], result["full"], result["sample"]
    lines = [f"### {rows:,} rows x 30 columns, Parquet, {result['row_groups']} row groups "
             f"({fmt_bytes(result['dataset_bytes'])} per data set)", ""]
    table = []
    for step, label in (("create", "sidecar contract create"), ("validate", "sidecar validate")):
        r = full[step]
        table.append([label, f"{rows:,}", fmt_seconds(r["seconds"]), f"{r['peak'] / 1e6:,.0f} MB",
                      f"{CEILING / 1e6:,.0f} MB", "ok" if r["peak"] < CEILING else "MISSED"])
    lines.append(markdown_table(["command", "rows", "time", "peak RSS", "ceiling", "under it"], table,
                                align="lrrrrl"))
    lines += ["", f"Validation of the drifted copy: report status {full['validate']['status']}.", ""]
    n = result["sample_rows"]
    lines.append(f"### The first {n:,} rows of the same data: in memory vs chunked")
    lines.append("")
    mem, chk = sample["memory"], sample["chunked"]
    table = [
        ["create", fmt_seconds(mem["create_seconds"]), fmt_seconds(chk["create_seconds"]),
         fmt_seconds(sample["cli_create"]["seconds"]), f"{sample['cli_create']['peak'] / 1e6:,.0f} MB",
         "equal" if sample["bodies_equal"] else "DIFFERENT"],
        ["validate", fmt_seconds(mem["validate_seconds"]), fmt_seconds(chk["validate_seconds"]),
         fmt_seconds(sample["cli_validate"]["seconds"]), f"{sample['cli_validate']['peak'] / 1e6:,.0f} MB",
         "equal" if sample["reports_equal"] else "DIFFERENT"],
    ]
    lines.append(markdown_table(
        ["step", "in-memory SDK", f"chunked SDK ({SAMPLE_CHUNK_ROWS:,}-row chunks)", "chunked CLI (whole process)",
         "CLI peak RSS", "contract body / report"], table, align="lrrrrl"))
    lines += ["", f"In-memory SDK: reading both files took {fmt_seconds(mem['read_seconds'])} besides the steps; "
              f"its peak RSS was {mem['peak'] / 1e6:,.0f} MB (chunked SDK child: {chk['peak'] / 1e6:,.0f} MB). "
              f"Report status {sample['status']}."]
    return "\n".join(lines)


def failures(result: dict[str, Any]) -> list[str]:
    """What the run must hold and did not: a peak at or over the ceiling, bodies or reports that differ."""
    out = []
    for step, label in (("create", "sidecar contract create"), ("validate", "sidecar validate")):
        peak = result["full"][step]["peak"]
        if peak >= CEILING:
            out.append(f"{label} peak RSS {peak / 1e6:,.0f} MB >= {CEILING / 1e6:,.0f} MB")
    if not result["sample"]["bodies_equal"]:
        out.append("contract bodies differ")
    if not result["sample"]["reports_equal"]:
        out.append("reports differ")
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [CHILD_FLAG]:
        child_main(json.loads(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000_000, help="rows per data set (default 20,000,000)")
    parser.add_argument("--sample-rows", type=int, default=SAMPLE_ROWS,
                        help="rows of the in-memory comparison (default 1,000,000; at most --rows)")
    parser.add_argument("--seed", type=int, default=SEED, help="data seed")
    parser.add_argument("--tmp", metavar="DIR", help="where the data sets are written (default: the system temp dir)")
    parser.add_argument("--json", metavar="FILE", help="also write every number to FILE")
    args = parser.parse_args(argv)
    if args.rows < 1000 or args.sample_rows < 1000:
        parser.error("--rows and --sample-rows must be >= 1000")
    if not SIDECAR.exists():
        parser.error(f"{SIDECAR} not found: create the virtualenv first (make dev)")
    base = Path(args.tmp or tempfile.gettempdir())
    need = args.rows * 300  # two data sets of about 140 bytes a row, plus the samples
    free = shutil.disk_usage(base).free
    if free < need:
        parser.error(f"{base} has {fmt_bytes(free)} free; {args.rows:,} rows need about {fmt_bytes(need)} "
                     "(use --tmp DIR or fewer --rows)")
    print(f"measuring {args.rows:,} rows in {base} ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-large-", dir=base) as tmp:
        result = measure(args.rows, min(args.sample_rows, args.rows), args.seed, Path(tmp), sys.stderr)
    print(render(result), flush=True)
    failed = failures(result)
    if args.json:
        import pandas as pd
        import pyarrow as pa

        meta = {"python": sys.version.split()[0], "numpy": np.__version__, "pandas": pd.__version__,
                "pyarrow": pa.__version__, "seed": args.seed, "ceiling_bytes": CEILING}
        Path(args.json).write_text(json.dumps({"meta": meta, "result": result}, indent=2), encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    for problem in failed:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
