"""Estimation benchmark: is CBPE's estimated accuracy within 0.02 of the realized accuracy under covariate shift?

What it does
------------
A synthetic binary classifier on two features ``x ~ N(mu, I)``. The true chance of a positive outcome is
``sigmoid(w . x + b)`` with ``w = (2.5, -1.5)``, ``b = 0.2``; the model's score is ``sigmoid(0.6 (w . x + b))``:
it ranks perfectly but is under-confident, so its raw scores are *not* calibrated probabilities and CBPE must
learn the calibration. The reference (``--reference-rows``, 50,000 at ``mu = 0``) gives CBPE its outcomes.
Each window (``--windows``, of ``--window-rows`` 2,000 predictions) draws its own covariate shift: ``mu`` at
a random angle and a distance uniform in [0, ``--max-shift``] (2.0 standard deviations). The label rule stays
the same (covariate shift, not concept drift), so the calibrated scores stay calibrated while accuracy moves
with the inputs (from about 0.8 near the reference to 0.97 where the inputs moved away from the boundary).

Per window the table shows the shift, the realized accuracy (outcomes drawn from the true rule, measured by
:func:`sidecar.performance.realized.classification_metrics`), the estimate from the scores alone with its 95 %
band, the absolute error, and whether the realized value fell in the band. The summary gives the share of
windows within 0.02 (the issue's "Must hold": at least 95 %), the band's coverage, the mean absolute error
of every estimated metric, and the accuracy estimated *without* calibration (raw scores taken as
probabilities), which shows what the calibration step buys.

Exit code 0 when at least 95 % of windows are within 0.02, else 1.

Usage::

    .venv/bin/python benchmarks/estimation.py                         # 500 windows, a few seconds
    .venv/bin/python benchmarks/estimation.py --windows 100 --show 20  # print only the first 20 windows
    .venv/bin/python benchmarks/estimation.py --seed 7 --json estimation.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

# benchmarks/ is a folder of scripts, not a package; the repo root makes `sidecar` importable uninstalled.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import fmt_pct, markdown_table

from sidecar.performance.cbpe import CBPE, ESTIMATED_METRICS
from sidecar.performance.realized import classification_metrics

SEED = 20261202
WEIGHTS = np.array([2.5, -1.5])
BIAS = 0.2
#: The model's scores are sigmoid(CONFIDENCE * true logit): same ranking, under-confident.
CONFIDENCE = 0.6
TOLERANCE = 0.02
TARGET_SHARE = 0.95


def draw(rng: np.random.Generator, rows: int, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(outcomes, scores)`` of ``rows`` predictions with inputs centred on ``mu``."""
    x = rng.normal(size=(rows, 2)) + mu
    logit = x @ WEIGHTS + BIAS
    y = rng.uniform(size=rows) < 1.0 / (1.0 + np.exp(-logit))
    return y, 1.0 / (1.0 + np.exp(-CONFIDENCE * logit))


def run(windows: int = 500, window_rows: int = 2_000, reference_rows: int = 50_000, max_shift: float = 2.0,
        seed: int = SEED) -> dict[str, Any]:
    """Fit CBPE on the reference, estimate every shifted window; per-window rows and the summary."""
    rng = np.random.default_rng(seed)
    cbpe = CBPE.fit(*draw(rng, reference_rows, np.zeros(2)))
    rows: list[dict[str, Any]] = []
    errors: dict[str, list[float]] = {m: [] for m in ESTIMATED_METRICS}
    raw_errors = []
    for i in range(windows):
        angle, distance = rng.uniform(0.0, 2.0 * np.pi), rng.uniform(0.0, max_shift)
        mu = distance * np.array([np.cos(angle), np.sin(angle)])
        y, score = draw(rng, window_rows, mu)
        realized = classification_metrics(y, score)
        estimated = cbpe.estimate(score)
        for m in ESTIMATED_METRICS:
            errors[m].append(abs(estimated[m].value - realized[m]))
        acc = estimated["accuracy"]
        raw_errors.append(abs(float(np.mean(np.maximum(score, 1.0 - score))) - realized["accuracy"]))
        rows.append({"window": i, "shift": float(distance), "realized": realized["accuracy"],
                     "estimated": acc.value, "lower": acc.lower, "upper": acc.upper,
                     "error": abs(acc.value - realized["accuracy"]),
                     "in_band": bool(acc.lower <= realized["accuracy"] <= acc.upper)})
    err = np.array([r["error"] for r in rows])
    share = float(np.mean(err <= TOLERANCE))
    return {
        "windows": rows,
        "summary": {
            "windows": windows, "window_rows": window_rows, "reference_rows": reference_rows, "seed": seed,
            "share_within": share, "tolerance": TOLERANCE, "target_share": TARGET_SHARE,
            "ok": share >= TARGET_SHARE,
            "band_coverage": float(np.mean([r["in_band"] for r in rows])),
            "accuracy_range": [float(min(r["realized"] for r in rows)), float(max(r["realized"] for r in rows))],
            "max_error": float(err.max()),
            "mean_abs_error": {m: float(np.nanmean(v)) for m, v in errors.items()},
            "uncalibrated_share_within": float(np.mean(np.array(raw_errors) <= TOLERANCE)),
            "uncalibrated_mean_abs_error": float(np.mean(raw_errors)),
        },
    }


def report(result: dict[str, Any], show: int | None = None) -> str:
    """The per-window table and the summary, as Markdown."""
    s = result["summary"]
    shown = result["windows"] if show is None else result["windows"][:show]
    table = markdown_table(
        ["window", "shift (sd)", "realized", "estimated", "95 % band", "abs error", "within 0.02", "in band"],
        [[r["window"], f"{r['shift']:.2f}", f"{r['realized']:.4f}", f"{r['estimated']:.4f}",
          f"[{r['lower']:.4f}, {r['upper']:.4f}]", f"{r['error']:.4f}", "yes" if r["error"] <= TOLERANCE else "NO",
          "yes" if r["in_band"] else "no"] for r in shown])
    lines = [
        f"CBPE accuracy estimate: {s['windows']} windows of {s['window_rows']} predictions, reference "
        f"{s['reference_rows']} rows, seed {s['seed']}",
        "",
        table,
        "",
        markdown_table(["summary", "value"], [
            ["windows within 0.02 of realized accuracy", f"{fmt_pct(s['share_within'])} (target >= "
             f"{fmt_pct(s['target_share'])}): {'ok' if s['ok'] else 'MISSED'}"],
            ["realized accuracy range", f"{s['accuracy_range'][0]:.3f} .. {s['accuracy_range'][1]:.3f}"],
            ["largest abs error", f"{s['max_error']:.4f}"],
            ["realized inside the 95 % band", fmt_pct(s["band_coverage"])],
            *[[f"mean abs error of estimated {m}", f"{v:.4f}"] for m, v in s["mean_abs_error"].items()],
            ["without calibration: windows within 0.02", fmt_pct(s["uncalibrated_share_within"])],
            ["without calibration: mean abs error of accuracy", f"{s['uncalibrated_mean_abs_error']:.4f}"],
        ], align="lr"),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--windows", type=int, default=500)
    parser.add_argument("--window-rows", type=int, default=2_000)
    parser.add_argument("--reference-rows", type=int, default=50_000)
    parser.add_argument("--max-shift", type=float, default=2.0, help="largest covariate shift, in sd")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--show", type=int, default=None, help="print only the first N windows")
    parser.add_argument("--json", type=Path, default=None, help="write the raw numbers here")
    args = parser.parse_args(argv)
    result = run(args.windows, args.window_rows, args.reference_rows, args.max_shift, args.seed)
    print(report(result, args.show))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if result["summary"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
