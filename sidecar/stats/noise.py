"""Sampling noise: how large a check's value gets by chance alone, for the sizes being compared.

A reference of ``m`` rows and a current sample of ``n`` rows drawn from the *same* population still differ:
PSI is about ``chi2(k-1) * (1/n + 1/m)``, a bin share moves by ``sqrt(p(1-p)(1/n + 1/m))``, a few current
values land past the reference's extremes. A check therefore crosses a threshold only when its value is
above the configured effect size *and* above the noise bound: the value that chance alone exceeds with
probability ``alpha`` (the false-alarm level, by default 1e-2 for warning and 1e-3 for critical, per
feature and check). That is what lets a 100-row batch and a 1M-row window be judged by the same contract.

Each :class:`~sidecar.stats.nullmodels.NullModel` is the distribution of one statistic under "no change".
:data:`NOISE` maps every registered drift distance to its closed-form model; :func:`simulated_noise`
draws the exact null of any distance; :func:`distance_noise` picks between them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from sidecar.stats.distances import DISTANCES
from sidecar.stats.nullmodels import (
    BetaBinomialRate,
    KolmogorovSmirnov,
    MaxAbsNormal,
    NullModel,
    ScaledChiSquare,
    Simulated,
)

__all__ = [
    "FALSE_ALARM",
    "LEVEL_FLOOR",
    "NOISE",
    "SIMULATION_DRAWS",
    "TAIL_POWER",
    "distance_noise",
    "noise_details",
    "null_shares",
    "proportion_difference",
    "register_noise",
    "selection_corrected",
    "simulated_noise",
]

#: Default false-alarm level per severity: the chance that a report whose population did not change is
#: judged warning (1 in 100) or critical (1 in 1,000), shared by its tests (:mod:`sidecar.checks.family`);
#: with ``family_wise=False``, the chance for one feature and check.
FALSE_ALARM = {"warning": 1e-2, "critical": 1e-3}

#: The smallest per-test level a verdict is expected to need: 1e-3 shared by 10,000 tests. A check that picks
#: between a quick closed form and the simulation judges "clearly beyond noise" at this level, so the
#: closed form is reported only where the simulation could not change any verdict.
LEVEL_FLOOR = 1e-7


# -- the noise of each registered drift distance -------------------------------------------------------
NoiseFn = Callable[[np.ndarray, np.ndarray], NullModel]
#: distance name -> function of (reference counts, current counts) returning its null model.
NOISE: dict[str, NoiseFn] = {}
#: distance name -> the power of the value its simulated null's tail is exponential in
#: (:class:`~sidecar.stats.nullmodels.Simulated`): 1 for chi-square-like tails, 1.5 for Gaussian-like ones.
TAIL_POWER: dict[str, float] = {}


def register_noise(name: str, *, tail_power: float = 1.0) -> Callable[[NoiseFn], NoiseFn]:
    """Decorator registering the null model of distance ``name`` and the shape of its simulated tail;
    registering a name twice raises."""

    def deco(fn: NoiseFn) -> NoiseFn:
        if name in NOISE:
            raise ValueError(f"noise model for {name!r} is already registered")
        NOISE[name] = fn
        TAIL_POWER[name] = tail_power
        return fn

    return deco


def _sizes(ref: np.ndarray, cur: np.ndarray) -> tuple[int, int, int]:
    """Reference rows, current rows and the bins either side uses (degrees of freedom + 1)."""
    m, n = int(ref.sum()), int(cur.sum())
    used = int(np.count_nonzero((ref + cur) > 0))
    return m, n, max(used, 2)


@register_noise("psi")
def _psi_noise(ref: np.ndarray, cur: np.ndarray) -> NullModel:
    m, n, k = _sizes(ref, cur)
    return ScaledChiSquare(df=k - 1, scale=1.0 / n + 1.0 / m)


@register_noise("jensen-shannon", tail_power=1.5)
def _js_noise(ref: np.ndarray, cur: np.ndarray) -> NullModel:
    # JS divergence in nats ~ chi2 * (1/n + 1/m) / 8; the distance is the square root of it in bits.
    m, n, k = _sizes(ref, cur)
    return ScaledChiSquare(df=k - 1, scale=(1.0 / n + 1.0 / m) / (8.0 * math.log(2.0)), power=0.5)


@register_noise("ks", tail_power=1.5)
def _ks_noise(ref: np.ndarray, cur: np.ndarray) -> NullModel:
    m, n, _ = _sizes(ref, cur)
    return KolmogorovSmirnov(n=n, m=m)


@register_noise("wasserstein", tail_power=1.5)
def _wasserstein_noise(ref: np.ndarray, cur: np.ndarray) -> NullModel:
    # The rank-normalised Wasserstein distance is a mean of |F_ref - F_cur| over the gaps, never above their
    # maximum (the KS statistic), so the KS null bounds it from above: conservative, never optimistic.
    m, n, _ = _sizes(ref, cur)
    return KolmogorovSmirnov(n=n, m=m)


@register_noise("l-infinity", tail_power=1.5)
def _l_infinity_noise(ref: np.ndarray, cur: np.ndarray) -> NullModel:
    # Each bin's share difference has variance p(1-p)(1/n + 1/m) under no change (p pooled); the bound
    # uses the widest bin and Bonferroni over the bins in use.
    m, n, k = _sizes(ref, cur)
    pooled = (ref + cur) / float(m + n)
    sd = math.sqrt(float(np.max(pooled * (1.0 - pooled))) * (1.0 / n + 1.0 / m))
    return MaxAbsNormal(sd=sd, tests=k)


def proportion_difference(ref_hits: int, m: int, n: int) -> NullModel:
    """Null model of ``|cur_hits/n - ref_hits/m|`` (a rate that did not change): the current count is
    beta-binomial around the reference's rate, whose uncertainty is ``Beta(ref_hits + 1, m - ref_hits + 1)``
    (uniform prior: a rate of zero in the reference still has a little spread, conservative for rare values).
    Exact for small samples and rare values, where the normal approximation is far too optimistic in the tail.

    >>> round(proportion_difference(0, 100, 50).bound(1e-3), 3)
    0.12
    """
    return BetaBinomialRate(n=n, a=ref_hits + 1.0, b=m - ref_hits + 1.0, rate=ref_hits / m)


#: Null draws per simulation: the draws' own p-values resolve to 1/2001; below about 1 % the fitted tail of
#: :class:`~sidecar.stats.nullmodels.Simulated` answers. About 8 ms a column on this machine.
SIMULATION_DRAWS = 2000


def null_shares(ref: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Bin shares of the reference's population, drawn ``draws`` times from what ``ref`` tells of them.

    The reference's counts fix the shares only up to sampling: with edges at reference quantiles, the
    probability mass between consecutive order statistics is Dirichlet(1, ..., 1), so a bin holding ``c``
    reference values has mass ``Beta(c, m + 1 - c)`` and the bins past the minimum and maximum hold one gap
    each. So the shares are drawn from ``Dirichlet(c_i)`` for bins the reference used and ``Dirichlet(1)``
    (one gap) for bins it left empty; for category counts this is the usual posterior of multinomial
    shares, slightly wider than Jeffreys' (conservative).
    """
    alpha = np.where(ref > 0, ref, 1.0).astype(np.float64)
    gamma = rng.standard_gamma(np.broadcast_to(alpha, (draws, alpha.size)))
    return gamma / gamma.sum(axis=1, keepdims=True)


def selection_corrected(counts: np.ndarray, tracked: int) -> np.ndarray:
    """What category counts ``[tracked.., other, missing]`` say of the population, when the tracked categories
    were chosen *because* the reference saw them often (at least ``min_value_count`` times, or among the
    most frequent): a category that just made the cut was more often lucky than not, so new rows hold fewer
    of it and more of the rest. By Good-Turing, the future mass of the categories seen fewer than ``c`` times
    (and of the unseen ones) is ``(other + c * f_c) / m``, ``f_c`` the tracked categories seen exactly ``c``
    times (``c``: the least count kept). The ``c * f_c`` rows move to "other" from the tracked categories seen
    fewer than ``4c`` times, pro rata (at most half of any). Without untracked rows nothing was selected and
    the counts are returned as they are.

    >>> selection_corrected(np.array([500, 300, 6, 5, 5, 40, 0]), tracked=5).tolist()
    [500.0, 300.0, 3.0, 2.5, 2.5, 48.0, 0.0]
    """
    out = np.asarray(counts, dtype=np.float64).copy()
    kept = out[:tracked]
    if tracked == 0 or tracked >= out.size or out[tracked] <= 0 or not np.any(kept > 0):
        return out
    cut = float(kept[kept > 0].min())
    shift = cut * float(np.count_nonzero(kept == cut))
    near = (kept > 0) & (kept < 4 * cut)
    take = np.minimum(kept[near] * shift / float(kept[near].sum()), kept[near] / 2.0)
    kept[near] -= take
    out[tracked] += float(take.sum())
    return out


def simulated_noise(fn: Callable[[np.ndarray, np.ndarray], Any], ref: np.ndarray, cur: np.ndarray, *,
                    batched: bool, draws: int = SIMULATION_DRAWS, tail_power: float = 1.0,
                    population: np.ndarray | None = None) -> Simulated:
    """Null model of distance ``fn`` between the reference counts ``ref`` and ``n = cur.sum()`` new rows of
    the same population: shares drawn by :func:`null_shares` from ``population`` (default: ``ref``; see
    :func:`selection_corrected`), current counts multinomial. ``batched`` distances take all draws at once
    (the registered ones do); others are called draw by draw.

    The generator is seeded from both count arrays: the same data always gets the same bound, and since
    references of one size binned at their own quantiles all have the same counts, seeding from the
    reference alone would give every comparison the same draws and the same Monte Carlo error.
    """
    n = int(cur.sum())
    words = np.frombuffer(np.concatenate([ref, cur]).astype(np.int64).tobytes(), dtype=np.uint32)
    rng = np.random.default_rng(words.tolist())
    drawn = rng.multinomial(n, null_shares(ref if population is None else population, draws, rng))
    if batched:
        values = np.asarray(fn(ref, drawn), dtype=np.float64)
    else:
        values = np.array([float(fn(ref, row)) for row in drawn], dtype=np.float64)
    return Simulated(np.where(np.isfinite(values), values, np.inf), tail_power=tail_power)


def distance_noise(name: str, ref: np.ndarray, cur: np.ndarray,
                   fn: Callable[[np.ndarray, np.ndarray], float] | None = None, *,
                   simulate: bool = True, population: np.ndarray | None = None) -> NullModel | None:
    """The null model of a distance between ``ref`` and ``cur`` counts; ``None`` when either side is empty.

    Registered distances have a closed-form approximation (:data:`NOISE`), quick but optimistic when bins
    are sparse (the tails, small samples); with ``simulate`` their null is simulated instead, which is what
    a verdict relies on. A custom distance ``fn`` has no closed form: simulated, or ``None`` without
    ``simulate``. ``population``: the counts the simulation draws new rows' shares from (default ``ref``).
    """
    ref, cur = np.asarray(ref, dtype=np.int64), np.asarray(cur, dtype=np.int64)
    if ref.sum() <= 0 or cur.sum() <= 0:
        return None
    if name in NOISE:
        if not simulate:
            return NOISE[name](ref.astype(np.float64), cur.astype(np.float64))
        return simulated_noise(DISTANCES[name], ref, cur, batched=True, tail_power=TAIL_POWER[name],
                               population=population)
    if fn is None or not simulate:
        return None
    return simulated_noise(fn, ref, cur, batched=False, draws=1000, population=population)


def noise_details(model: NullModel | None, value: float | None,
                  false_alarm: dict[str, float]) -> tuple[tuple[float, float] | None, dict[str, Any]]:
    """The (warning, critical) noise bounds and the report details saying why (p-value, bounds, levels)."""
    if model is None or value is None or not math.isfinite(value):
        return None, {}
    warn = model.bound(false_alarm["warning"])
    crit = model.bound(false_alarm["critical"])
    details = {
        "p_value": _round(model.p_value(value)),
        "noise_bound": _round(crit),
        "noise_bound_warning": _round(warn),
        "false_alarm": dict(false_alarm),
    }
    return (warn, crit), details


def _round(x: float) -> float:
    """Six significant digits: enough to read, stable in JSON."""
    return float(f"{x:.6g}") if math.isfinite(x) else x
