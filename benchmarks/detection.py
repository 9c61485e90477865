"""Detection benchmark: do the default checks catch 8 injected changes, and how often do they alarm on nothing?

What it does
------------
At each ``--rows`` size it builds the 68-column benchmark frame of ``batch_validate.py`` twice from the same
population: the reference (``make_frame(rows, drifted=False, seed=S)``) and an untouched current sample
(``make_frame(rows, drifted=False, seed=S + 1)``). It then injects exactly 8 changes into the current
sample, each into one column (see :data:`INJECTIONS`):

1. ``f20`` normal(200, 7): mean + 0.25 standard deviation (of the reference's values);
2. ``f05`` log-normal(1, 0.6): every value times 1.3 (+0.26 on the log scale, 0.44 of its sd);
3. ``i07`` Poisson(37): lambda + 10 % (Poisson(40.7)), a shift of 0.61 sd;
4. ``c03`` 20 Zipf categories: 10 points of share moved from the top category to the others (pro rata);
5. ``c00`` 5 Zipf categories: the share of ``c0_001`` (about 0.22) halved, the rest given to the others;
6. ``c07`` 100 Zipf categories: 3 % of the non-null rows replaced by 10 categories the reference never saw;
7. ``f14`` uniform(0, 100) with 2 % NaN: null rate raised to 20 %;
8. ``f10`` uniform(0, 100): 0.5 % of the values set to ``max + U(1, 1.5) * (max - min)`` of the reference.

Every other column is left as drawn, so a non-healthy row on any of the 60 untouched columns is a false
alarm. ``DataContract("bench", reference).validate(current)`` runs with the default checks only. The table
lists, per change, every non-healthy row of its column (check, status, value, thresholds, noise bounds,
p-value); then the false alarms; then one in-process timing of ``validate`` against the numpy baseline of
``batch_validate.py`` (``baseline_check`` on a ``baseline_fit`` of the reference) on the same frames. The
timing is one unpinned run in this process, an indication only: ``batch_validate.py`` is the speed
benchmark.

False alarms (``false_alarms.py``): beside the power table, the rates at which reports of *unchanged* data
are warning or critical, per report and per feature, with the default family-wise verdicts:

* iid 68-feature tables (58 normal, 10 categorical) at ``--iid-sizes`` rows (100, 500, 1k, 10k, 100k), with
  a reference as large as the sample and with a fixed 20,000-row one; ``--reports`` reports per size (40;
  ``--reports-large`` at 100k rows and more, 20). Targets per report: critical <= 0.1 %, any alarm <= 2 %;
* ``--splits`` random half splits (20) of each of the 16 public data sets of
  ``tests/unit/checks/test_real_data.py`` (320 reports). Target: any alarm in <= 3 % of the reports.

Exit code 0 only when all 8 changes are caught (warning or critical), no untouched column is flagged and
the false-alarm targets hold at the observed rates.

Usage::

    .venv/bin/python benchmarks/detection.py                   # everything (about 10 minutes on one core)
    .venv/bin/python benchmarks/detection.py --quick           # power at 20k rows, fewer reports (about 2 min)
    .venv/bin/python benchmarks/detection.py --rows 100000 --only power     # one size, power table only
    .venv/bin/python benchmarks/detection.py --only iid --iid-sizes 500 --reports 200
    .venv/bin/python benchmarks/detection.py --seed 7 --json detection.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# benchmarks/ is a folder of scripts, not a package; the repo root makes `sidecar` importable uninstalled.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import false_alarms
from _common import fmt_ratio, fmt_seconds, markdown_table
from batch_validate import SEED, TARGET_RATIO, baseline_check, baseline_fit, make_frame

#: Values ``make_frame`` writes as sentinels into float columns; a change moves the real values only.
SENTINELS = (-1.0, -999.0)


# -- the 8 injected changes -----------------------------------------------------------------------------
def _regular(x: np.ndarray) -> np.ndarray:
    """Mask of real values: not NaN and not a sentinel."""
    return ~np.isnan(x) & ~np.isin(x, SENTINELS)


def _floats(cur: pd.DataFrame, column: str) -> np.ndarray:
    return cur[column].to_numpy(dtype=np.float64, copy=True)


def _put_floats(cur: pd.DataFrame, column: str, x: np.ndarray) -> None:
    cur[column] = x.astype(cur[column].dtype)


def _categories(cur: pd.DataFrame, column: str) -> np.ndarray:
    """The column as an object array (missing values as ``None``)."""
    values = cur[column].astype(object).to_numpy(copy=True)
    values[pd.isna(values)] = None
    return values


def _put_categories(cur: pd.DataFrame, column: str, values: np.ndarray) -> None:
    """Write ``values`` back in the column's own dtype (pandas ``category`` or ``str``)."""
    dtype = cur[column].dtype
    if isinstance(dtype, pd.CategoricalDtype):
        new = [v for v in pd.unique(values[values != None]) if v not in set(dtype.categories)]  # noqa: E711
        cur[column] = pd.Categorical(values, categories=[*dtype.categories, *sorted(new)])
    else:
        cur[column] = pd.Series(values, index=cur.index).astype(dtype)


def _reassign(rng: np.random.Generator, values: np.ndarray, level: str, share: float) -> np.ndarray:
    """Move ``share`` (of all rows) away from ``level`` to the other non-null levels, in proportion to their
    own counts; returns the new values."""
    present = values[values != None]  # noqa: E711
    levels, counts = np.unique(present.astype(str), return_counts=True)
    at = np.flatnonzero(values == level)
    moved = rng.choice(at, size=round(share * values.size), replace=False)
    others = levels != level
    out = values.copy()
    out[moved] = rng.choice(levels[others], size=moved.size, p=counts[others] / counts[others].sum())
    return out


def shift_normal(ref: pd.DataFrame, cur: pd.DataFrame, column: str, rng: np.random.Generator) -> str:
    r, x = _floats(ref, column), _floats(cur, column)
    sd = float(np.std(r[_regular(r)]))
    real = _regular(x)
    x[real] += 0.25 * sd
    _put_floats(cur, column, x)
    return f"mean + 0.25 sd (+{0.25 * sd:.3g})"


def scale_lognormal(ref: pd.DataFrame, cur: pd.DataFrame, column: str, rng: np.random.Generator) -> str:
    x = _floats(cur, column)
    real = _regular(x)
    r = _floats(ref, column)
    log_sd = float(np.std(np.log(r[_regular(r) & (r > 0)])))
    x[real] *= 1.3
    _put_floats(cur, column, x)
    return f"values x 1.3 (log + {np.log(1.3):.3f} = {np.log(1.3) / log_sd:.2f} sd of log)"


def poisson_rate(ref: pd.DataFrame, cur: pd.DataFrame, column: str, rng: np.random.Generator) -> str:
    lam = 30 + int(column[1:])  # _int_column: counts are Poisson(30 + j)
    x = cur[column].to_numpy(copy=True)
    real = x != -1
    x[real] = rng.poisson(1.1 * lam, int(real.sum()))
    cur[column] = x.astype(cur[column].dtype)
    return f"lambda {lam} -> {1.1 * lam:.1f} (+10 %, {0.1 * lam / np.sqrt(lam):.2f} sd)"


def mix_shift(ref: pd.DataFrame, cur: pd.DataFrame, column: str, rng: np.random.Generator) -> str:
    values = _categories(cur, column)
    top = str(ref[column].value_counts().index[0])
    before = float(np.mean(values == top))
    values = _reassign(rng, values, top, 0.10)
    _put_categories(cur, column, values)
    return f"{top} share {before:.3f} -> {np.mean(values == top):.3f}, others up pro rata"


def halve_level(ref: pd.DataFrame, cur: pd.DataFrame, column: str, rng: np.random.Generator) -> str:
    shares = ref[column].value_counts(normalize=True, dropna=False)
    level = str(shares.index[1])  # the second level: share >= 0.2 in c00
    values = _categories(cur, column)
    before = float(np.mean(values == level))
    values = _reassign(rng, values, level, before / 2)
    _put_categories(cur, column, values)
    return f"{level} share {before:.3f} -> {np.mean(values == level):.3f} (reference {shares.iloc[1]:.3f})"


def unseen_categories(ref: pd.DataFrame, cur: pd.DataFrame, column: str, rng: np.random.Generator) -> str:
    values = _categories(cur, column)
    present = np.flatnonzero(values != None)  # noqa: E711
    hit = rng.choice(present, size=round(0.03 * present.size), replace=False)
    values[hit] = np.array([f"{column}_unseen{k}" for k in range(10)], dtype=object)[rng.integers(0, 10, hit.size)]
    _put_categories(cur, column, values)
    return f"{hit.size:,} rows (3 % of non-null) -> 10 new categories"


def null_rate(ref: pd.DataFrame, cur: pd.DataFrame, column: str, rng: np.random.Generator) -> str:
    x = _floats(cur, column)
    before = float(np.mean(np.isnan(x)))
    present = np.flatnonzero(~np.isnan(x))
    x[rng.choice(present, size=round(0.20 * x.size) - (x.size - present.size), replace=False)] = np.nan
    _put_floats(cur, column, x)
    return f"null rate {before:.2%} -> {np.mean(np.isnan(x)):.2%} (reference {ref[column].isna().mean():.2%})"


def past_maximum(ref: pd.DataFrame, cur: pd.DataFrame, column: str, rng: np.random.Generator) -> str:
    r = _floats(ref, column)
    lo, hi = float(np.min(r[_regular(r)])), float(np.max(r[_regular(r)]))
    x = _floats(cur, column)
    real = np.flatnonzero(_regular(x))
    hit = rng.choice(real, size=round(0.005 * real.size), replace=False)
    x[hit] = hi + rng.uniform(1.0, 1.5, hit.size) * (hi - lo)
    _put_floats(cur, column, x)
    return f"{hit.size:,} values (0.5 %) -> max + U(1, 1.5) x range (reference [{lo:.4g}, {hi:.4g}])"


@dataclass(frozen=True)
class Injection:
    """One change: its kind, the column it goes into and the function making it (returns a description)."""

    kind: str
    column: str
    apply: Callable[[pd.DataFrame, pd.DataFrame, str, np.random.Generator], str]


#: The 8 changes of the issue. Columns (see ``batch_validate._float_column`` / ``_int_column`` /
#: ``_cat_column``) were picked free of sentinels, and f14 is one with a 2 % reference null rate.
INJECTIONS = (
    Injection("normal: mean shift", "f20", shift_normal),
    Injection("log-normal: mean shift", "f05", scale_lognormal),
    Injection("Poisson: mean shift", "i07", poisson_rate),
    Injection("category mix shift", "c03", mix_shift),
    Injection("one level's share halved", "c00", halve_level),
    Injection("3 % unseen categories", "c07", unseen_categories),
    Injection("null rate 2 % -> 20 %", "f14", null_rate),
    Injection("0.5 % past the maximum", "f10", past_maximum),
)


def inject(reference: pd.DataFrame, current: pd.DataFrame, seed: int) -> list[str]:
    """Apply :data:`INJECTIONS` to ``current`` in place (each with its own random stream); descriptions."""
    return [inj.apply(reference, current, inj.column, np.random.default_rng([seed, 7, i]))
            for i, inj in enumerate(INJECTIONS)]


# -- one size -------------------------------------------------------------------------------------------
def _row(r: Any) -> dict[str, Any]:
    d = r.details
    return {"check": r.check, "column": r.column, "status": r.status.value, "value": r.value,
            "warning": r.warning, "critical": r.critical, "noise_bound_warning": d.get("noise_bound_warning"),
            "noise_bound": d.get("noise_bound"), "p_value": d.get("p_value"),
            "details": {k: v for k, v in d.items() if k not in ("reference", "current", "bins")}}


def run(rows: int, seed: int = SEED, *, timing: bool = True) -> dict[str, Any]:
    """Build, inject, validate; with ``timing``, also time ``validate`` against the numpy baseline."""
    from sidecar import DataContract

    reference = make_frame(rows, drifted=False, seed=seed)
    current = make_frame(rows, drifted=False, seed=seed + 1)
    described = inject(reference, current, seed)
    if not current.dtypes.equals(reference.dtypes):  # an injection must not retype a column (a schema finding)
        raise RuntimeError(f"injection changed dtypes: {current.dtypes[current.dtypes != reference.dtypes]}")
    contract = DataContract("bench", reference)
    if timing:
        _warm_up(contract)
        t0 = time.perf_counter()
    report = contract.validate(current)
    out: dict[str, Any] = {"rows": rows, "seed": seed, "status": report.status.value}
    if timing:
        ours = time.perf_counter() - t0
        model = baseline_fit(reference)
        t0 = time.perf_counter()
        baseline_check(model, current)
        out["seconds"] = {"ours": ours, "baseline": time.perf_counter() - t0}

    injected = {inj.column for inj in INJECTIONS}
    changes = []
    for inj, what in zip(INJECTIONS, described, strict=True):
        mine = [r for r in report.results if r.column == inj.column]
        flagged = [_row(r) for r in mine if r.status.value != "healthy"]
        changes.append({"kind": inj.kind, "column": inj.column, "change": what, "caught": bool(flagged),
                        "rows": flagged or [_row(r) for r in mine]})  # all rows when missed, to see why
    out["changes"] = changes
    out["false_alarms"] = [_row(r) for r in report.results
                           if r.status.value != "healthy" and r.column not in injected]
    out["ok"] = all(c["caught"] for c in changes) and not out["false_alarms"]
    return out


def _warm_up(contract: Any) -> None:
    """Validate and run the baseline once on a small frame, so first-call setup is not timed."""
    small = make_frame(2000, drifted=False, seed=0)
    contract.validate(small)
    baseline_check(baseline_fit(small), small)


# -- output ---------------------------------------------------------------------------------------------
def _num(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _pair(a: Any, b: Any) -> str:
    return f"{_num(a)} / {_num(b)}"


def render(result: dict[str, Any]) -> str:
    """The Markdown tables for one size."""
    rows = result["rows"]
    caught = sum(c["caught"] for c in result["changes"])
    lines = [f"### {rows:,} rows: reference seed {result['seed']}, current seed {result['seed'] + 1}", ""]
    table = []
    for c in result["changes"]:
        for i, r in enumerate(c["rows"]):
            first = i == 0
            table.append([c["kind"] if first else "", c["column"] if first else "", r["check"], r["status"],
                          _num(r["value"]), _pair(r["warning"], r["critical"]),
                          _pair(r["noise_bound_warning"], r["noise_bound"]), _num(r["p_value"]),
                          ("yes" if c["caught"] else "**NO**") if first else ""])
    headers = ["change", "column", "check", "status", "value", "threshold (warn / crit)",
               "noise bound (warn / crit)", "p-value", "caught"]
    lines.append(markdown_table(headers, table, align="lllllrrrl"))
    lines.append("")
    lines.append("Injected: " + "; ".join(f"{c['column']} {c['change']}" for c in result["changes"]) + ".")
    lines.append("")
    alarms = result["false_alarms"]
    lines.append(f"Caught {caught} of {len(result['changes'])} changes; "
                 f"{len(alarms)} false alarm(s) on the {68 - len(result['changes'])} untouched columns "
                 f"(report status {result['status']}).")
    if alarms:
        lines.append("")
        lines.append(markdown_table(
            ["untouched column", "check", "status", "value", "threshold (warn / crit)", "noise bound (warn / crit)",
             "p-value", "details"],
            [[r["column"] or "(table)", r["check"], r["status"], _num(r["value"]), _pair(r["warning"], r["critical"]),
              _pair(r["noise_bound_warning"], r["noise_bound"]), _num(r["p_value"]), json.dumps(r["details"])]
             for r in alarms], align="lllrrrrl"))
    if "seconds" in result:
        s = result["seconds"]
        ratio = s["ours"] / s["baseline"]
        lines.append("")
        lines.append(f"Validate time (one in-process run, not pinned): ours {fmt_seconds(s['ours'])}, numpy baseline "
                     f"{fmt_seconds(s['baseline'])}, ratio {fmt_ratio(ratio)} "
                     f"({'ok' if ratio <= TARGET_RATIO else 'MISSED'}, target <= {TARGET_RATIO:g}x).")
    return "\n".join(lines)


SECTIONS = ("power", "iid", "real")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=None,
                        help="frame sizes of the power table (default 100000 1000000; --quick: 20000)")
    parser.add_argument("--seed", type=int, default=SEED, help="reference seed (the current sample uses seed + 1)")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections (repeatable)")
    parser.add_argument("--iid-sizes", type=int, nargs="+", default=[100, 500, 1_000, 10_000, 100_000],
                        help="current rows of the iid false-alarm reports")
    parser.add_argument("--reports", type=int, default=None, help="iid reports per size and reference (40)")
    parser.add_argument("--reports-large", type=int, default=None,
                        help="iid reports per size at 100,000 rows and more (20)")
    parser.add_argument("--splits", type=int, default=None, help="half splits per public data set (20)")
    parser.add_argument("--quick", action="store_true",
                        help="power at 20,000 rows, 10 iid reports per size (3 at 100k), 5 splits per data set")
    parser.add_argument("--json", metavar="FILE", help="also write every row to FILE")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    rows = args.rows or ([20_000] if args.quick else [100_000, 1_000_000])
    if any(r < 2000 for r in rows):
        parser.error("every --rows must be >= 2000")
    reports = args.reports or (10 if args.quick else 40)
    reports_large = args.reports_large or (3 if args.quick else 20)
    splits = args.splits or (5 if args.quick else 20)
    sections = set(args.only or SECTIONS)

    ok = True
    out: dict[str, Any] = {}
    if "power" in sections:
        results = []
        for size in rows:
            print(f"validating {size:,} rows ...", file=sys.stderr, flush=True)
            results.append(run(size, args.seed))
            print(render(results[-1]) + "\n", flush=True)
        power_ok = all(r["ok"] for r in results)
        print("All changes caught, no false alarms." if power_ok else "FAILED: a change was missed or an untouched "
              "column was flagged (see above).")
        print()
        out["results"] = results
        ok = ok and power_ok
    if "iid" in sections:
        iid = []
        for reference in (None, false_alarms.FIXED_REFERENCE):
            for size in args.iid_sizes:
                count = reports_large if size >= 100_000 else reports
                print(f"iid reports: {count} of {size:,} rows ...", file=sys.stderr, flush=True)
                iid.append(false_alarms.iid_rates(size, count, reference, args.seed))
        print(false_alarms.render_iid(iid) + "\n", flush=True)
        out["iid"] = [r.as_dict() for r in iid]
        ok = ok and false_alarms.iid_ok(iid)
    if "real" in sections:
        print(f"real data: {splits} half splits per data set ...", file=sys.stderr, flush=True)
        real = false_alarms.real_rates(splits)
        print(false_alarms.render_real(real) + "\n", flush=True)
        out["real"] = [r.as_dict() for r in real]
        ok = ok and false_alarms.real_ok(real)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
