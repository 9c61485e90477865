"""Batch SDK benchmark: ``DataContract(name, df)`` and ``contract.validate(drifted)`` against a numpy baseline.

What it measures
----------------
A deterministic 68-column frame (40 float with NaN and the sentinels -1 / -999, 15 int, 10 categorical with
5-200 categories as pandas ``category`` or ``str`` dtype, 2 bool, 1 datetime) and a drifted copy (shifted
means, wider spreads, changed null and sentinel rates, new and re-weighted categories, a later time range)
are profiled at each ``--rows`` size by

* **ours**: ``DataContract("bench", reference)`` (create) and ``contract.validate(drifted)`` (validate);
* **baseline**: plain numpy/pandas written below that computes the same statistics (quantile edges by
  sort, bin counts by searchsorted, ``value_counts`` for categories, null counts, min/max) on the
  reference, then bins the drifted copy with the reference edges and computes PSI per column.

Every (side, step, repeat) runs in a fresh interpreter pinned to one core (``--cpu``, default 0) with
BLAS/OpenMP/Arrow threads set to one. The child warms up on a 2,000-row frame, builds its frame, releases
freed heap pages (``malloc_trim``), records VmRSS, resets the peak counter, runs the step and reads VmHWM:
"extra memory" = VmHWM - VmRSS, also shown as a share of the frame's ``memory_usage(deep=True)``. A
validate child loads the contract (or the baseline's fitted state) that a create child saved, so none of
the creation work or its freed memory leaks into the validation numbers. Times (wall clock, with process
CPU time beside them) and memory are medians over ``--repeats``; ratios are ours / baseline.

Targets (from the issue): creation and validation each within 2x of the baseline on one core; extra
memory under 25 % of the frame.

Usage::

    .venv/bin/python benchmarks/batch_validate.py                      # 100k and 1M rows, 3 repeats
    .venv/bin/python benchmarks/batch_validate.py --rows 20000 --repeats 1   # quick smoke run
    .venv/bin/python benchmarks/batch_validate.py --json results.json
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# benchmarks/ is a folder of scripts, not a package; the repo root makes `sidecar` importable uninstalled.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import (
    CHILD_FLAG,
    THREAD_ENV,
    fmt_bytes,
    fmt_pct,
    fmt_ratio,
    fmt_seconds,
    markdown_table,
    median,
    memory_status,
    pin_one_core,
    release_free_memory,
    reset_peak,
    run_child,
    write_child_result,
)

SEED = 20261126
N_FLOAT, N_INT, N_BOOL = 40, 15, 2
#: Categories per categorical column (10 columns, 5 to 200 categories).
CAT_SIZES = (5, 8, 12, 20, 30, 50, 75, 100, 150, 200)
START = np.datetime64("2026-01-01T00:00:00", "ns")
DAY_NS = 86_400 * 10**9
SIDES = ("baseline", "ours")
STEPS = ("create", "validate")
TARGET_RATIO = 2.0
TARGET_EXTRA = 0.25


# -- data ---------------------------------------------------------------------------------------------
def _with_specials(rng: np.random.Generator, x: np.ndarray, *, null: float, minus1: float, minus999: float) -> None:
    """Overwrite random positions of ``x`` in place with NaN, -1 and -999 at the given rates."""
    u = rng.random(x.size)
    x[u < minus999] = -999.0
    x[(u >= minus999) & (u < minus999 + minus1)] = -1.0
    x[u >= 1.0 - null] = np.nan


def _float_column(rng: np.random.Generator, rows: int, j: int, drifted: bool) -> np.ndarray:
    family = j % 4
    if family == 0:
        x = rng.normal(10.0 * j, 1.0 + j % 7, rows)
    elif family == 1:
        x = rng.lognormal(1.0, 0.5 + 0.02 * j, rows)
    elif family == 2:
        x = rng.uniform(0.0, 100.0, rows)
    else:
        x = rng.exponential(1.0 + j, rows)
    if j == 39:
        x = np.round(rng.uniform(1.0, 5.0, rows) * 2.0) / 2.0  # a rating: 9 distinct values
    null = (0.0, 0.01, 0.02, 0.05, 0.1)[(3 * j) % 5]
    minus1 = 0.01 if j % 3 == 0 else 0.0
    minus999 = 0.005 if j % 8 == 1 else 0.0
    drift = j % 5 if drifted else -1
    if drift == 0:  # location shift by a quarter of a standard deviation
        x += 0.25 * float(np.std(x))
    elif drift == 1:  # more nulls
        null += 0.08
    elif drift == 2:  # wider spread around the median
        m = float(np.median(x))
        x = m + (x - m) * 1.3
    elif drift == 3:  # sentinel rate up
        minus1 += 0.05
    _with_specials(rng, x, null=null, minus1=minus1, minus999=minus999)
    return x.astype(np.float32) if j % 10 == 9 else x


def _int_column(rng: np.random.Generator, rows: int, j: int, drifted: bool) -> np.ndarray:
    drift = drifted and j % 2 == 0
    if j % 3 == 0:  # small discrete range
        x = rng.integers(0, 13 if drift else 11, rows)
    elif j % 3 == 1:  # counts
        x = rng.poisson(33 + j if drift else 30 + j, rows)
    else:  # wide, id-like
        x = rng.integers(50_000 if drift else 0, 1_050_000 if drift else 1_000_000, rows)
    if j % 4 == 1:
        x[rng.random(rows) < (0.06 if drift else 0.02)] = -1
    return x.astype(np.int32) if j % 5 == 4 else x.astype(np.int64)


def _cat_column(rng: np.random.Generator, rows: int, j: int, drifted: bool) -> pd.Series:
    n = CAT_SIZES[j]
    cats = [f"c{j}_{k:03d}" for k in range(n)]
    weights = 1.0 / np.arange(1, n + 1) ** 1.1
    null = 0.01 * (j % 3)
    drift = j % 3 if drifted and j != 9 else -1
    if drift == 1:  # flatter, re-weighted distribution
        weights = weights[::-1] ** 0.5
    elif drift == 2:  # more nulls
        null += 0.05
    codes = rng.choice(n, size=rows, p=weights / weights.sum())
    if drift == 0:  # 8 % of rows take one of 5 categories the reference never saw
        new = rng.random(rows) < 0.08
        cats += [f"c{j}_new{k}" for k in range(5)]
        codes[new] = n + rng.integers(0, 5, int(new.sum()))
    codes[rng.random(rows) < null] = -1
    cat = pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(cats)))
    return cat if j % 2 == 0 else cat.astype("str")


def make_frame(rows: int, *, drifted: bool, seed: int = SEED) -> pd.DataFrame:
    """The reference frame (``drifted=False``) or its drifted counterpart; deterministic for a seed."""
    rng = np.random.default_rng([seed, int(drifted)])
    cols: dict[str, Any] = {}
    for j in range(N_FLOAT):
        cols[f"f{j:02d}"] = _float_column(rng, rows, j, drifted)
    for j in range(N_INT):
        cols[f"i{j:02d}"] = _int_column(rng, rows, j, drifted)
    for j in range(len(CAT_SIZES)):
        cols[f"c{j:02d}"] = _cat_column(rng, rows, j, drifted).array
    cols["b0"] = rng.random(rows) < (0.38 if drifted else 0.3)
    cols["b1"] = rng.random(rows) < 0.6
    offset = rng.integers(30 * DAY_NS if drifted else 0, (120 if drifted else 90) * DAY_NS, rows)
    ts = START + offset.astype("timedelta64[ns]")
    ts[rng.random(rows) < 0.005] = np.datetime64("NaT")
    cols["event_time"] = ts
    return pd.DataFrame(cols)


# -- baseline -----------------------------------------------------------------------------------------
N_BINS = 20
PSI_FLOOR = 1e-4


def _as_float(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        ns = s.to_numpy().view(np.int64)
        x = ns.astype(np.float64) / 1e9
        x[ns == np.iinfo(np.int64).min] = np.nan  # NaT
        return x
    return np.asarray(s, dtype=np.float64)


def _is_numeric(s: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)) or \
        pd.api.types.is_datetime64_any_dtype(s.dtype)


def _hist(present: np.ndarray, n_missing: int, edges: np.ndarray) -> np.ndarray:
    """[underflow, bins.., overflow, missing], last bin closed on the right (the sidecar's layout)."""
    idx = np.searchsorted(edges, present, side="right")
    idx[present == edges[-1]] = len(edges) - 1
    return np.append(np.bincount(idx, minlength=len(edges) + 1), n_missing)


def _psi(ref: np.ndarray, cur: np.ndarray) -> float:
    p = np.maximum(ref / max(ref.sum(), 1), PSI_FLOOR)
    q = np.maximum(cur / max(cur.sum(), 1), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def baseline_fit(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Reference statistics per column: edges + histogram + min/max + nulls, or category counts + nulls."""
    model: dict[str, dict[str, Any]] = {}
    for name in df.columns:
        s = df[name]
        if _is_numeric(s):
            x = _as_float(s)
            missing = np.isnan(x)
            present = x[~missing]
            srt = np.sort(present)
            edges = np.unique(srt[np.round(np.linspace(0, srt.size - 1, N_BINS + 1)).astype(np.intp)])
            nulls = int(missing.sum())
            model[name] = {"edges": edges, "counts": _hist(present, nulls, edges), "nulls": nulls,
                           "min": float(srt[0]), "max": float(srt[-1])}
        else:
            vc = s.value_counts(dropna=True)
            nulls = len(s) - int(vc.sum())
            model[name] = {"categories": vc.index, "counts": np.append(vc.to_numpy(), [0, nulls]),
                           "nulls": nulls}
    return model


def baseline_check(model: dict[str, dict[str, Any]], df: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per column: PSI against the reference bins, null-rate change, min/max."""
    out: dict[str, dict[str, float]] = {}
    for name, ref in model.items():
        s = df[name]
        if "edges" in ref:
            x = _as_float(s)
            missing = np.isnan(x)
            present = x[~missing]
            nulls = int(missing.sum())
            counts = _hist(present, nulls, ref["edges"])
            lo, hi = (float(present.min()), float(present.max())) if present.size else (np.nan, np.nan)
            out[name] = {"min": lo, "max": hi}
        else:
            vc = s.value_counts(dropna=True)
            nulls = len(s) - int(vc.sum())
            tracked = vc.reindex(ref["categories"], fill_value=0).to_numpy()
            counts = np.append(tracked, [int(vc.sum()) - int(tracked.sum()), nulls])
            out[name] = {}
        out[name]["psi"] = _psi(ref["counts"], counts)
        out[name]["null_rate_change"] = abs(nulls / max(len(s), 1) - ref["nulls"] / max(int(ref["counts"].sum()), 1))
    return out


# -- one measured step (child process) ----------------------------------------------------------------
def _warm_up(side: str) -> None:
    """Run both steps once on a tiny frame so lazy imports and first-call setup are not measured."""
    ref, cur = make_frame(2000, drifted=False), make_frame(2000, drifted=True)
    if side == "ours":
        from sidecar import DataContract

        DataContract("warmup", ref).validate(cur)
    else:
        baseline_check(baseline_fit(ref), cur)


def _summary(side: str, result: Any) -> dict[str, Any]:
    """What the validation found, so the table shows both sides see the drift."""
    if side == "ours":
        dist = [r for r in result.results if r.check == "distribution"]
        return {"status": str(result.status.value), "drift_critical": sum(r.status.value == "critical" for r in dist),
                "drift_warning": sum(r.status.value == "warning" for r in dist)}
    psis = [v["psi"] for v in result.values()]
    return {"drift_critical": sum(p > 0.25 for p in psis), "drift_warning": sum(0.1 < p <= 0.25 for p in psis)}


def child_main(spec: dict[str, Any]) -> None:
    """Measure one (side, step) in this fresh process and write the numbers for the parent."""
    cpu = pin_one_core(spec.get("cpu"))
    side, step, rows = spec["side"], spec["step"], spec["rows"]
    artifact = Path(spec["artifacts"]) / f"{side}-{rows}"
    if side == "ours":
        from sidecar import DataContract
    _warm_up(side)

    state: Any = None
    if step == "validate":  # the fitted contract / baseline state, saved by a create child
        if side == "ours":
            state = DataContract.from_path(artifact / "bench")
        else:
            state = pickle.loads((artifact / "baseline.pkl").read_bytes())
    df = make_frame(rows, drifted=step == "validate", seed=spec["seed"])
    frame_bytes = int(df.memory_usage(deep=True).sum())
    release_free_memory()
    before = memory_status()["VmRSS"]
    peak_reset = reset_peak()

    result: Any
    t0, c0 = time.perf_counter(), time.process_time()
    if step == "create":
        result = DataContract("bench", df) if side == "ours" else baseline_fit(df)
    else:
        result = state.validate(df) if side == "ours" else baseline_check(state, df)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    peak = memory_status()["VmHWM"]

    out = {"side": side, "step": step, "rows": rows, "seconds": seconds, "cpu_seconds": cpu_seconds,
           "rss_after_load": before, "peak": peak,
           "extra": peak - before, "frame_bytes": frame_bytes, "peak_reset": peak_reset, "cpu": cpu}
    if step == "validate":
        out["summary"] = _summary(side, result)
    if step == "create" and spec.get("save"):
        artifact.mkdir(parents=True, exist_ok=True)
        if side == "ours":
            result.save(artifact)
        else:
            (artifact / "baseline.pkl").write_bytes(pickle.dumps(result))
    write_child_result(spec["result_file"], out)


# -- orchestration (parent) ---------------------------------------------------------------------------
def measure(rows: int, repeats: int, seed: int, cpu: int, log: Any) -> dict[str, Any]:
    """All children for one frame size; returns per (side, step) the raw runs and their medians."""
    runs: dict[str, list[dict[str, Any]]] = {f"{side}/{step}": [] for step in STEPS for side in SIDES}
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as artifacts:
        for step in STEPS:
            for rep in range(repeats):
                for side in SIDES:  # interleaved, so slow drift of the machine hits both sides alike
                    spec = {"side": side, "step": step, "rows": rows, "seed": seed, "cpu": cpu, "artifacts": artifacts,
                            "save": step == "create" and rep == 0}
                    r = run_child(__file__, spec)
                    runs[f"{side}/{step}"].append(r)
                    print(f"  rows={rows:,} {side:8s} {step:8s} run {rep + 1}/{repeats}: "
                          f"{fmt_seconds(r['seconds'])} (CPU {fmt_seconds(r['cpu_seconds'])}), "
                          f"extra {fmt_bytes(r['extra'])}", file=log, flush=True)
    out: dict[str, Any] = {"rows": rows, "configs": {}}
    for key, rs in runs.items():
        out["configs"][key] = {
            "seconds": median(r["seconds"] for r in rs),
            "cpu_seconds": median(r["cpu_seconds"] for r in rs),
            "extra_bytes": median(r["extra"] for r in rs),
            "peak_bytes": median(r["peak"] for r in rs),
            "rss_after_load_bytes": median(r["rss_after_load"] for r in rs),
            "frame_bytes": rs[0]["frame_bytes"],
            "peak_reset": all(r["peak_reset"] for r in rs),
            "summary": rs[0].get("summary"),
            "runs": rs,
        }
    for step in STEPS:
        ours, base = out["configs"][f"ours/{step}"], out["configs"][f"baseline/{step}"]
        out[f"{step}_time_ratio"] = ours["seconds"] / base["seconds"]
        out[f"{step}_cpu_ratio"] = ours["cpu_seconds"] / base["cpu_seconds"]
        out[f"{step}_extra_share"] = ours["extra_bytes"] / ours["frame_bytes"]
    return out


def render(result: dict[str, Any], repeats: int) -> str:
    """The Markdown table for one frame size."""
    rows = result["rows"]
    lines = [f"### {rows:,} rows x 68 columns (median of {repeats}, one core)", ""]
    table = []
    for step in STEPS:
        base, ours = result["configs"][f"baseline/{step}"], result["configs"][f"ours/{step}"]
        for side, c in (("baseline", base), ("ours", ours)):
            is_ours = side == "ours"
            ratio = (f"{fmt_ratio(ours['seconds'] / base['seconds'])} / "
                     f"{fmt_ratio(ours['cpu_seconds'] / base['cpu_seconds'])}") if is_ours else ""
            table.append([
                "contract creation" if step == "create" else "validation", side, fmt_seconds(c["seconds"]),
                fmt_seconds(c["cpu_seconds"]), ratio,
                fmt_bytes(c["frame_bytes"]), fmt_bytes(c["rss_after_load_bytes"]), fmt_bytes(c["peak_bytes"]),
                fmt_bytes(c["extra_bytes"]), fmt_pct(c["extra_bytes"] / c["frame_bytes"]),
            ])
    headers = ["step", "side", "time", "CPU time", "ours/baseline (time / CPU)", "frame", "RSS after load", "peak RSS",
               "extra memory", "extra / frame"]
    lines.append(markdown_table(headers, table, align="llrrrrrrrr"))
    lines.append("")
    checks = []
    for step in STEPS:
        label = "creation" if step == "create" else "validation"
        ratio, share = result[f"{step}_time_ratio"], result[f"{step}_extra_share"]
        cpu_ratio = result[f"{step}_cpu_ratio"]
        checks.append(f"{label} time {fmt_ratio(ratio)} of baseline (CPU {fmt_ratio(cpu_ratio)}; "
                      f"{'ok' if ratio <= TARGET_RATIO else 'MISSED'}, target <= {TARGET_RATIO:g}x); "
                      f"extra memory {fmt_pct(share)} of the frame "
                      f"({'ok' if share < TARGET_EXTRA else 'MISSED'}, target < {TARGET_EXTRA:.0%})")
    lines.append("Targets: " + "; ".join(checks) + ".")
    s_ours, s_base = result["configs"]["ours/validate"]["summary"], result["configs"]["baseline/validate"]["summary"]
    lines.append(f"Drift found: ours {s_ours['drift_critical']} critical + {s_ours['drift_warning']} warning "
                 f"distribution rows (report status {s_ours['status']}); baseline {s_base['drift_critical']} columns "
                 f"PSI > 0.25 + {s_base['drift_warning']} with 0.1 < PSI <= 0.25.")
    busy = [k for k, c in result["configs"].items() if c["seconds"] > 1.25 * c["cpu_seconds"] + 0.005]
    if busy:
        lines.append(f"Warning: wall time well above CPU time for {', '.join(busy)}: another process shared the "
                     "core, so those times are inflated; compare CPU times or re-run on a quiet machine.")
    if not all(c["peak_reset"] for c in result["configs"].values()):
        lines.append("Note: the kernel refused to reset VmHWM; peaks include building the frame.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [CHILD_FLAG]:
        child_main(json.loads(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="frame sizes")
    parser.add_argument("--repeats", type=int, default=3, help="fresh-process runs per configuration (median)")
    parser.add_argument("--seed", type=int, default=SEED, help="data seed")
    parser.add_argument("--json", metavar="FILE", help="also write every number (and each run) to FILE")
    parser.add_argument("--cpu", type=int, default=0, help="the one CPU children are pinned to (default 0)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or any(r < 100 for r in args.rows):
        parser.error("--repeats must be >= 1 and every --rows >= 100")

    results, tables = [], []
    for rows in args.rows:
        print(f"measuring {rows:,} rows ...", file=sys.stderr, flush=True)
        res = measure(rows, args.repeats, args.seed, args.cpu, sys.stderr)
        results.append(res)
        tables.append(render(res, args.repeats))
        print(tables[-1] + "\n", flush=True)
    if args.json:
        meta = {"python": sys.version.split()[0], "numpy": np.__version__, "pandas": pd.__version__,
                "repeats": args.repeats, "seed": args.seed, "cpu": args.cpu, "thread_env": THREAD_ENV,
                "targets": {"time_ratio_max": TARGET_RATIO, "extra_share_max": TARGET_EXTRA}}
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
