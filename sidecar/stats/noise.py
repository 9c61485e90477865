"""Sampling noise: how large a check's value gets by chance alone, for the sizes being compared.

A reference of ``m`` rows and a current sample of ``n`` rows drawn from the *same* population still differ:
PSI is about ``chi2(k-1) * (1/n + 1/m)``, a bin share moves by ``sqrt(p(1-p)(1/n + 1/m))``, a few current
values land past the reference's extremes. A check therefore crosses a threshold only when its value is
above the configured effect size *and* above the noise bound: the value that chance alone exceeds with
probability ``alpha`` (the false-alarm level, by default 1e-2 for warning and 1e-3 for critical, per
feature and check). That is what lets a 100-row batch and a 1M-row window be judged by the same contract.

Each :class:`NullModel` is the distribution of one statistic under "no change"; it answers ``bound(alpha)``
(in the statistic's own units) and ``p_value(value)``, and the two agree: ``value > bound(alpha)`` exactly
when ``p_value(value) < alpha`` (up to the discreteness of count models). :data:`NOISE` maps every registered
drift distance to the function building its model from the two count arrays.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

__all__ = [
    "FALSE_ALARM",
    "NOISE",
    "SIMULATION_DRAWS",
    "BetaBinomialShare",
    "KolmogorovSmirnov",
    "MaxAbsNormal",
    "NullModel",
    "ScaledChiSquare",
    "Simulated",
    "distance_noise",
    "noise_details",
    "null_shares",
    "proportion_difference",
    "register_noise",
    "simulated_noise",
]

#: Default false-alarm level per severity: the chance that a feature whose population did not change is
#: judged warning (1 in 100) or critical (1 in 1,000) by one check.
FALSE_ALARM = {"warning": 1e-2, "critical": 1e-3}


class NullModel(ABC):
    """The distribution of a statistic when nothing changed."""

    @abstractmethod
    def bound(self, alpha: float) -> float:
        """Smallest value that chance alone exceeds with probability at most ``alpha``."""

    @abstractmethod
    def p_value(self, value: float) -> float:
        """Probability under no change of a value at least this large."""


@dataclass(frozen=True)
class ScaledChiSquare(NullModel):
    """``value = (scale * X) ** power`` with ``X ~ chi2(df)``.

    PSI (``power`` 1) and the Jensen-Shannon distance (``power`` 1/2) are both, to second order, a
    chi-square statistic of the 2 x k table divided by ``nm/(n+m)``.

    >>> model = ScaledChiSquare(df=1, scale=0.01)
    >>> round(model.bound(0.05), 5), round(model.p_value(0.0384146), 4)
    (0.03841, 0.05)
    """

    df: float
    scale: float
    power: float = 1.0

    def bound(self, alpha: float) -> float:
        return float((self.scale * special.chdtri(self.df, alpha)) ** self.power)

    def p_value(self, value: float) -> float:
        if value <= 0:
            return 1.0
        return float(special.chdtrc(self.df, value ** (1.0 / self.power) / self.scale))


@dataclass(frozen=True)
class KolmogorovSmirnov(NullModel):
    """Two-sample KS statistic: ``D * sqrt(nm/(n+m))`` follows Kolmogorov's distribution. On binned data
    the statistic can only be smaller than on the raw values, so the bound is conservative there.

    >>> round(KolmogorovSmirnov(n=100, m=100).bound(0.05), 4)
    0.1921
    """

    n: int
    m: int

    @property
    def _scale(self) -> float:
        return math.sqrt(1.0 / self.n + 1.0 / self.m)

    def bound(self, alpha: float) -> float:
        return float(special.kolmogi(alpha)) * self._scale

    def p_value(self, value: float) -> float:
        return float(special.kolmogorov(value / self._scale)) if value > 0 else 1.0


@dataclass(frozen=True)
class MaxAbsNormal(NullModel):
    """The largest of ``tests`` absolute differences whose standard deviations are at most ``sd``
    (normal approximation, Bonferroni over the tests; two-sided).

    >>> round(MaxAbsNormal(sd=0.01, tests=1).bound(0.05), 5)
    0.0196
    """

    sd: float
    tests: int = 1

    def bound(self, alpha: float) -> float:
        if self.sd <= 0:
            return 0.0
        return float(-special.ndtri(alpha / (2 * self.tests))) * self.sd

    def p_value(self, value: float) -> float:
        if self.sd <= 0:
            return 0.0 if value > 0 else 1.0
        return float(min(1.0, 2 * self.tests * special.ndtr(-value / self.sd)))


@dataclass(frozen=True)
class BetaBinomialShare(NullModel):
    """Share ``K/n`` of current rows in a region whose probability is itself uncertain, ``Beta(a, b)``.

    Values past the reference's minimum or maximum: for ``m`` reference values of a continuous variable the
    probability mass outside their range is exactly ``Beta(2, m-1)``, so the count of ``n`` new values
    outside is beta-binomial (expected share ``2/(m+1)``). Unseen categories use ``a`` = the reference's
    singletons + 1 (Good-Turing's estimate of the unseen mass).

    >>> model = BetaBinomialShare(n=10_000, a=2, b=9_999)
    >>> round(model.bound(1e-3), 4), model.p_value(0.0) == 1.0
    (0.0012, True)
    """

    n: int
    a: float
    b: float

    def _tail(self, upto: int = 0) -> tuple[np.ndarray, float]:
        """``P(K >= k)`` for ``k = 0..K`` (K covers all but about 1e-9 of the mass, and ``upto``) and the
        mass past K."""
        n, a, b = self.n, self.a, self.b
        q = float(special.betaincinv(a, b, 1.0 - 1e-9))
        top = int(min(n, max(math.ceil(n * q + 10.0 * math.sqrt(n * q + 1.0) + 20), upto)))
        k = np.arange(top + 1, dtype=np.float64)
        logpmf = (special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
                  + special.betaln(k + a, n - k + b) - special.betaln(a, b))
        pmf = np.exp(logpmf)
        rest = max(0.0, 1.0 - float(pmf.sum())) if top < n else 0.0
        tail = np.cumsum(pmf[::-1])[::-1] + rest
        return tail, rest

    def bound(self, alpha: float) -> float:
        tail, _ = self._tail()
        # Smallest count k with P(K > k) <= alpha; shares above k/n are beyond noise at this level.
        above = np.append(tail[1:], 0.0)
        k = int(np.argmax(above <= alpha))
        return k / self.n

    def p_value(self, value: float) -> float:
        count = round(value * self.n)
        if count <= 0:
            return 1.0
        tail, rest = self._tail(upto=count)
        return float(min(1.0, tail[count])) if count < len(tail) else rest


@dataclass(frozen=True)
class Simulated(NullModel):
    """Empirical null: values of the statistic recomputed on samples drawn under no change."""

    draws: np.ndarray

    def bound(self, alpha: float) -> float:
        return float(np.quantile(self.draws, 1.0 - alpha, method="higher"))

    def p_value(self, value: float) -> float:
        return float((1 + np.count_nonzero(self.draws >= value)) / (self.draws.size + 1))


# -- the noise of each registered drift distance -------------------------------------------------------
NoiseFn = Callable[[np.ndarray, np.ndarray], NullModel]
#: distance name -> function of (reference counts, current counts) returning its null model.
NOISE: dict[str, NoiseFn] = {}


def register_noise(name: str) -> Callable[[NoiseFn], NoiseFn]:
    """Decorator registering the null model of distance ``name``; registering a name twice raises."""

    def deco(fn: NoiseFn) -> NoiseFn:
        if name in NOISE:
            raise ValueError(f"noise model for {name!r} is already registered")
        NOISE[name] = fn
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


@register_noise("jensen-shannon")
def _js_noise(ref: np.ndarray, cur: np.ndarray) -> NullModel:
    # JS divergence in nats ~ chi2 * (1/n + 1/m) / 8; the distance is the square root of it in bits.
    m, n, k = _sizes(ref, cur)
    return ScaledChiSquare(df=k - 1, scale=(1.0 / n + 1.0 / m) / (8.0 * math.log(2.0)), power=0.5)


@register_noise("ks")
def _ks_noise(ref: np.ndarray, cur: np.ndarray) -> NullModel:
    m, n, _ = _sizes(ref, cur)
    return KolmogorovSmirnov(n=n, m=m)


@register_noise("wasserstein")
def _wasserstein_noise(ref: np.ndarray, cur: np.ndarray) -> NullModel:
    # The rank-normalised Wasserstein distance is a mean of |F_ref - F_cur| over the gaps, never above their
    # maximum (the KS statistic), so the KS null bounds it from above: conservative, never optimistic.
    m, n, _ = _sizes(ref, cur)
    return KolmogorovSmirnov(n=n, m=m)


@register_noise("l-infinity")
def _l_infinity_noise(ref: np.ndarray, cur: np.ndarray) -> NullModel:
    # Each bin's share difference has variance p(1-p)(1/n + 1/m) under no change (p pooled); the bound
    # uses the widest bin and Bonferroni over the bins in use.
    m, n, k = _sizes(ref, cur)
    pooled = (ref + cur) / float(m + n)
    sd = math.sqrt(float(np.max(pooled * (1.0 - pooled))) * (1.0 / n + 1.0 / m))
    return MaxAbsNormal(sd=sd, tests=k)


def proportion_difference(ref_hits: int, m: int, cur_hits: int, n: int) -> NullModel:
    """Null model of ``|cur_hits/n - ref_hits/m|`` (a rate that did not change). The pooled rate gets one
    pseudo-hit so a rate of zero on both sides still has a little spread (conservative for rare values,
    where the normal approximation is at its weakest).

    >>> round(proportion_difference(0, 100, 1, 50).bound(1e-3), 3)
    0.065
    """
    rate = (ref_hits + cur_hits + 1.0) / (m + n + 2.0)
    return MaxAbsNormal(sd=math.sqrt(rate * (1.0 - rate) * (1.0 / n + 1.0 / m)), tests=1)


#: Null draws per simulation: p-values resolve to 1/2001, and the 1e-3 bound is the 2nd largest draw
#: (``method="higher"``: never below the empirical quantile). About 8 ms a column on this machine.
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


def simulated_noise(fn: Callable[[np.ndarray, np.ndarray], Any], ref: np.ndarray, cur: np.ndarray, *,
                    batched: bool, draws: int = SIMULATION_DRAWS) -> Simulated:
    """Null model of distance ``fn`` between the reference counts ``ref`` and ``n = cur.sum()`` new rows of
    the same population: shares drawn by :func:`null_shares`, current counts multinomial. ``batched``
    distances take all draws at once (the registered ones do); others are called draw by draw.

    The generator is seeded from both count arrays: the same data always gets the same bound, and since
    references of one size binned at their own quantiles all have the same counts, seeding from the
    reference alone would give every comparison the same draws and the same Monte Carlo error.
    """
    n = int(cur.sum())
    words = np.frombuffer(np.concatenate([ref, cur]).astype(np.int64).tobytes(), dtype=np.uint32)
    rng = np.random.default_rng(words.tolist())
    drawn = rng.multinomial(n, null_shares(ref, draws, rng))
    if batched:
        values = np.asarray(fn(ref, drawn), dtype=np.float64)
    else:
        values = np.array([float(fn(ref, row)) for row in drawn], dtype=np.float64)
    return Simulated(np.where(np.isfinite(values), values, np.inf))


def distance_noise(name: str, ref: np.ndarray, cur: np.ndarray,
                   fn: Callable[[np.ndarray, np.ndarray], float] | None = None, *,
                   simulate: bool = True) -> NullModel | None:
    """The null model of a distance between ``ref`` and ``cur`` counts; ``None`` when either side is empty.

    Registered distances have a closed-form approximation (:data:`NOISE`), quick but optimistic when bins
    are sparse (the tails, small samples); with ``simulate`` their null is simulated instead, which is what
    a verdict relies on. A custom distance ``fn`` is always simulated.
    """
    ref, cur = np.asarray(ref, dtype=np.int64), np.asarray(cur, dtype=np.int64)
    n = int(cur.sum())
    if ref.sum() <= 0 or n <= 0:
        return None
    if name in NOISE and not simulate:
        return NOISE[name](ref.astype(np.float64), cur.astype(np.float64))
    if name in NOISE:
        from sidecar.stats.distances import DISTANCES

        return simulated_noise(DISTANCES[name], ref, cur, batched=True)
    if fn is None:
        return None
    return simulated_noise(fn, ref, cur, batched=False, draws=1000)


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
