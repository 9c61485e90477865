"""Calibration: on iid data (reference and current from the same population) per-check verdicts are rare.

The budget: at most 0.1% of (feature, check) rows judged critical and at most 1% warning, for reference
sizes 100 to 100,000 and current sizes 50 to 1,000,000, with each check at its own levels
(``family_wise=False``): this is what the null models themselves must deliver. Family-wise verdicts, whose
levels hold per report, are only stricter (``benchmarks/detection.py`` measures them per report). Every
repetition draws a new reference and a new current sample, so the reference's own sampling noise is part of
what is measured. The table is printed (``pytest -s`` shows it; pytest prints it on failure too).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from sidecar import DataContract, Status

#: (reference rows, current rows, repetitions). Small samples get many repetitions: that is where the noise
#: bound, not the effect size, decides, so that is where false alarms would show.
CONFIGS = [
    (100, 50, 120),
    (100, 1_000, 120),
    (100, 100_000, 6),
    (1_000, 50, 120),
    (1_000, 10_000, 40),
    (10_000, 100, 60),
    (10_000, 1_000_000, 2),
    (100_000, 1_000, 12),
    (100_000, 100_000, 3),
]
#: Checks judged on data (schema and row_count have no sampling noise and are not part of the budget).
JUDGED = ("special_values", "min_max", "uniqueness", "domain", "distribution")
ZIPF_LEVELS = 50


def population(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """One sample of the synthetic population: every column family the issue names."""
    zipf = 1.0 / np.arange(1, ZIPF_LEVELS + 1) ** 1.2
    levels = np.array([f"level{i}" for i in range(ZIPF_LEVELS)], dtype=object)
    with_nulls = rng.normal(5.0, 2.0, n)
    with_nulls[rng.random(n) < 0.05] = np.nan
    with_sentinels = rng.lognormal(1.0, 0.8, n)
    with_sentinels[rng.random(n) < 0.03] = -1.0
    return pd.DataFrame({
        "normal": rng.normal(0.0, 1.0, n),
        "lognormal": rng.lognormal(0.0, 1.0, n),
        "poisson": rng.poisson(4.0, n),
        "uniform": rng.uniform(0.0, 10.0, n),
        "zipf": pd.Series(levels[rng.choice(ZIPF_LEVELS, n, p=zipf / zipf.sum())]),
        "plan": pd.Series(rng.choice(np.array(["basic", "plus", "pro"], dtype=object), n, p=[0.6, 0.3, 0.1])),
        "with_nulls": with_nulls,
        "with_sentinels": with_sentinels,
    })


@dataclass
class Tally:
    rows: int = 0
    warning: int = 0
    critical: int = 0
    where: Counter[tuple[str, str, str]] = field(default_factory=Counter)


def run(m: int, n: int, reps: int, seed: int = 20261202) -> Tally:
    rng = np.random.default_rng([seed, m, n])
    tally = Tally()
    for _ in range(reps):
        reference, current = population(rng, m), population(rng, n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the 100-row reference warns that it is small, by design
            contract = DataContract("calibration", reference, family_wise=False)
        contract.special_value_test.configure(["with_sentinels"], thresholds={np.nan: 0.1, -1: 0.1})
        for row in contract.validate(current).results:
            if row.check not in JUDGED:
                continue
            tally.rows += 1
            if row.status is Status.WARNING:
                tally.warning += 1
            elif row.status is Status.CRITICAL:
                tally.critical += 1
            if row.status is not Status.HEALTHY:
                tally.where[(row.check, str(row.column), row.status.value)] += 1
    return tally


def upper_95(k: int, n: int) -> float:
    """One-sided 95% upper bound of a rate seen k times in n (Clopper-Pearson)."""
    from scipy.stats import beta

    return 1.0 if n == 0 else float(beta.ppf(0.95, k + 1, n - k)) if k < n else 1.0


@pytest.fixture(scope="module")
def results() -> dict[tuple[int, int], Tally]:
    out = {(m, n): run(m, n, reps) for m, n, reps in CONFIGS}
    total = Tally()
    lines = ["", "| reference m | current n | reps | rows judged | warning | critical | warning rate | critical rate |",
             "|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for (m, n, reps), t in zip(CONFIGS, out.values(), strict=True):
        lines.append(f"| {m:,} | {n:,} | {reps} | {t.rows:,} | {t.warning} | {t.critical} | "
                     f"{t.warning / t.rows:.3%} | {t.critical / t.rows:.3%} |")
        total.rows += t.rows
        total.warning += t.warning
        total.critical += t.critical
        total.where.update(t.where)
    lines.append(f"| all | | | {total.rows:,} | {total.warning} | {total.critical} | "
                 f"{total.warning / total.rows:.3%} (95% upper {upper_95(total.warning, total.rows):.3%}) | "
                 f"{total.critical / total.rows:.3%} (95% upper {upper_95(total.critical, total.rows):.3%}) |")
    lines.append(f"non-healthy rows by (check, column, status): {dict(total.where.most_common())}")
    print("\n".join(lines))
    out[(0, 0)] = total
    return out


def test_false_alarm_rates_are_within_budget(results: dict[tuple[int, int], Tally]) -> None:
    total = results[(0, 0)]
    assert total.rows > 10_000  # enough rows to tell 0.1% from 1%
    assert total.critical / total.rows <= 0.001, total.where
    assert total.warning / total.rows <= 0.01, total.where


def test_no_configuration_is_badly_miscalibrated(results: dict[tuple[int, int], Tally]) -> None:
    # Per configuration the noise bounds hold each check to its level (1e-2 / 1e-3); a rate several times
    # above it in any one cell would mean a null model that is wrong there, even if the pooled rate passes.
    for (m, n), t in results.items():
        if (m, n) == (0, 0):
            continue
        assert t.critical <= max(3, math.ceil(0.004 * t.rows)), ((m, n), t.where)
        assert t.warning <= max(6, math.ceil(0.025 * t.rows)), ((m, n), t.where)
