"""Power at default settings: the changes users care about are caught, at the sizes the issue names.

Each case runs over several seeds and reference sizes; every run must reach the stated severity on the
changed column itself (the noise bounds must not swallow a real change).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from sidecar import DataContract, Status

SEEDS = range(5)
REFERENCE_SIZES = (2_000, 10_000)


def worst(report, column: str) -> tuple[Status, list[str]]:
    rows = [r for r in report.results if r.column == column]
    status = max(r.status for r in rows)
    return status, [f"{r.check}={r.status.value} value={r.value}" for r in rows if r.status is status]


def judge(make: Callable[[np.random.Generator, int, bool], pd.DataFrame], m: int, n: int, seed: int,
          column: str) -> tuple[Status, list[str]]:
    rng = np.random.default_rng([seed, m, n])
    contract = DataContract("power", make(rng, m, False))
    return worst(contract.validate(make(rng, n, True)), column)


def normal_shift(sd: float) -> Callable[[np.random.Generator, int, bool], pd.DataFrame]:
    def make(rng: np.random.Generator, n: int, changed: bool) -> pd.DataFrame:
        return pd.DataFrame({"x": rng.normal(sd if changed else 0.0, 1.0, n), "other": rng.normal(0, 1, n)})
    return make


def category_shift(rng: np.random.Generator, n: int, changed: bool) -> pd.DataFrame:
    shares = [0.6, 0.2, 0.2] if changed else [0.5, 0.3, 0.2]  # 10 points from "plus" to "basic"
    return pd.DataFrame({"plan": rng.choice(np.array(["basic", "plus", "pro"], dtype=object), n, p=shares)})


def unseen_categories(rng: np.random.Generator, n: int, changed: bool) -> pd.DataFrame:
    levels = np.array([f"c{i}" for i in range(20)], dtype=object)
    values = rng.choice(levels, n)
    if changed:
        new = rng.random(n) < 0.03
        values[new] = rng.choice(np.array(["new1", "new2", "new3"], dtype=object), int(new.sum()))
    return pd.DataFrame({"c": values})


def far_outside(rng: np.random.Generator, n: int, changed: bool) -> pd.DataFrame:
    x = rng.normal(50.0, 10.0, n)
    if changed:
        lo, hi = 10.0, 90.0  # about the range of the reference
        idx = rng.choice(n, n // 200, replace=False)  # 0.5% of the values
        x[idx] = hi + rng.uniform(1.0, 1.5, idx.size) * (hi - lo)
    return pd.DataFrame({"x": x})


def null_rate(rng: np.random.Generator, n: int, changed: bool) -> pd.DataFrame:
    x = rng.gamma(2.0, 10.0, n)
    x[rng.random(n) < (0.20 if changed else 0.02)] = np.nan
    return pd.DataFrame({"x": x})


def units_change(zero_share: float) -> Callable[[np.random.Generator, int, bool], pd.DataFrame]:
    def make(rng: np.random.Generator, n: int, changed: bool) -> pd.DataFrame:
        x = np.where(rng.random(n) < zero_share, 0.0, rng.exponential(20.0, n))
        return pd.DataFrame({"amount": x * 1000.0 if changed else x})
    return make


CASES = [
    ("0.5 sd mean shift, 10k rows", normal_shift(0.5), 10_000, "x", Status.CRITICAL),
    ("0.25 sd mean shift, 10k rows", normal_shift(0.25), 10_000, "x", Status.WARNING),
    ("10 points of category share, 2k rows", category_shift, 2_000, "plan", Status.CRITICAL),
    ("3% unseen categories, 10k rows", unseen_categories, 10_000, "c", Status.WARNING),
    ("0.5% far outside the range, 10k rows", far_outside, 10_000, "x", Status.WARNING),
    ("null rate 2% to 20%, 10k rows", null_rate, 10_000, "x", Status.CRITICAL),
    ("x1000 units, 50% zeros", units_change(0.5), 10_000, "amount", Status.CRITICAL),
    ("x1000 units, 99% zeros", units_change(0.99), 10_000, "amount", Status.CRITICAL),
]


@pytest.mark.parametrize(("name", "make", "n", "column", "at_least"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("m", REFERENCE_SIZES)
def test_change_is_caught(name: str, make, n: int, column: str, at_least: Status, m: int) -> None:
    for seed in SEEDS:
        status, why = judge(make, m, n, seed, column)
        assert status >= at_least, (name, m, seed, status, why)


def test_untouched_column_beside_a_shift_stays_healthy() -> None:
    for seed in SEEDS:
        status, why = judge(normal_shift(0.5), 10_000, 10_000, seed, "other")
        assert status is Status.HEALTHY, why


def test_small_batch_is_judged_with_its_own_size() -> None:
    # The same 0.5 sd shift in a 30-row batch is within what 30 rows vary by: not critical.
    rng = np.random.default_rng(11)
    make = normal_shift(0.5)
    contract = DataContract("power", make(rng, 10_000, False))
    report = contract.validate(make(rng, 30, True))
    (row,) = [r for r in report.results if r.check == "distribution" and r.column == "x"]
    assert row.value is not None and row.value > row.critical  # large as an effect size...
    assert row.status is not Status.CRITICAL  # ...but not beyond the noise of 30 rows
    assert row.value <= row.details["noise_bound"] and row.details["p_value"] > 1e-3


# -- the same requirements on a 68-feature table, with family-wise verdicts --------------------------------
ZIPF_SIZES = (5, 8, 12, 20, 30, 50, 75, 100)  # the 8 Zipf columns beside "plan" and "code"
PLAN = np.array(["basic", "plus", "pro"], dtype=object)
CODES = np.array([f"code{i}" for i in range(20)], dtype=object)


def wide_table(rng: np.random.Generator, n: int, change: str | None = None) -> pd.DataFrame:
    """58 normal columns and 10 categorical ones (``plan``, ``code`` and 8 Zipf columns); ``change`` alters one:
    ``shift`` (n05 + 0.5 sd), ``mix`` (10 points of plan share from plus to basic), ``unseen`` (3 % of code new
    values), ``x1000`` (n07 in other units), ``nulls`` (30 % of n09 missing)."""
    cols: dict[str, object] = {f"n{j:02d}": rng.normal(10.0 * j, 1.0 + j % 7, n) for j in range(58)}
    cols["plan"] = rng.choice(PLAN, n, p=[0.6, 0.2, 0.2] if change == "mix" else [0.5, 0.3, 0.2])
    code = rng.choice(CODES, n)
    if change == "unseen":
        new = rng.random(n) < 0.03
        code[new] = rng.choice(np.array(["new1", "new2", "new3"], dtype=object), int(new.sum()))
    cols["code"] = code
    for j, size in enumerate(ZIPF_SIZES):
        weights = 1.0 / np.arange(1, size + 1) ** 1.1
        cols[f"z{j}"] = rng.choice(np.array([f"z{j}_{k}" for k in range(size)], dtype=object), n,
                                   p=weights / weights.sum())
    frame = pd.DataFrame(cols)
    if change == "shift":
        frame["n05"] += 0.5 * (1.0 + 5 % 7)
    elif change == "x1000":
        frame["n07"] *= 1000.0
    elif change == "nulls":
        frame.loc[rng.random(n) < 0.3, "n09"] = np.nan
    return frame


WIDE_CASES = [
    ("0.5 sd mean shift, 10k rows", "shift", 10_000, "n05", Status.CRITICAL),
    ("10 points of category share, 2k rows", "mix", 2_000, "plan", Status.CRITICAL),
    ("3% unseen categories, 10k rows", "unseen", 10_000, "code", Status.WARNING),
    ("x1000 units, 10k rows", "x1000", 10_000, "n07", Status.CRITICAL),
    ("30% nulls, 10k rows", "nulls", 10_000, "n09", Status.CRITICAL),
]


@pytest.mark.parametrize(("name", "change", "n", "column", "at_least"), WIDE_CASES, ids=[c[0] for c in WIDE_CASES])
@pytest.mark.parametrize("m", REFERENCE_SIZES)
def test_change_is_caught_in_a_68_feature_table(name: str, change: str, n: int, column: str, at_least: Status,
                                                m: int) -> None:
    for seed in range(3):
        rng = np.random.default_rng([seed, m, n, 68])
        contract = DataContract("wide", wide_table(rng, m))
        report = contract.validate(wide_table(rng, n, change))
        status, why = worst(report, column)
        assert status >= at_least, (name, m, seed, status, why)
        judged = [r for r in report.results if r.column == column and "p_value_adjusted" in r.details]
        assert judged and {r.details["family_tests"] for r in judged} == {len(
            [r for r in report.results if "p_value_adjusted" in r.details])}  # judged as one of the whole report
        others = [r for r in report.results if r.column != column and r.status is not Status.HEALTHY]
        assert others == [], [(r.check, r.column, r.status.value, r.value) for r in others]
