"""Null models: the distribution of a check's statistic when nothing changed.

Each answers ``bound(alpha)`` (in the statistic's own units: the value chance alone exceeds with
probability ``alpha``) and ``p_value(value)``; the two agree, ``value > bound(alpha)`` exactly when
``p_value(value) < alpha`` up to the discreteness of count models. Which model fits which check, and the
simulated null of the drift distances, are in :mod:`sidecar.stats.noise`.

Family-wise verdicts (:mod:`sidecar.checks.family`) ask for levels far below 1e-3 (1e-3 shared by a
report's few hundred tests), so every model answers there too: the count models exactly, the closed forms
analytically, and :class:`Simulated` with a fitted tail past its draws.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

__all__ = [
    "BetaBinomialRate",
    "BetaBinomialShare",
    "KolmogorovSmirnov",
    "MaxAbsNormal",
    "NullModel",
    "ScaledChiSquare",
    "Simulated",
]


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

    @cached_property
    def _top(self) -> int:
        """A count past all but about 1e-12 of the mass (family-wise levels go down to about 1e-7)."""
        q = float(special.betaincinv(self.a, self.b, 1.0 - 1e-12))
        return int(min(self.n, math.ceil(self.n * q + 10.0 * math.sqrt(self.n * q + 1.0) + 20)))

    @cached_property
    def _tails(self) -> tuple[np.ndarray, float]:
        # Both bounds and the p-value of a report row read it: computed once (up to n terms for a small m).
        return self._tail(self._top)

    def _tail(self, top: int) -> tuple[np.ndarray, float]:
        """``P(K >= k)`` for ``k = 0..top`` and the mass past ``top``."""
        n, a, b = self.n, self.a, self.b
        top = min(n, top)
        k = np.arange(top + 1, dtype=np.float64)
        logpmf = (special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
                  + special.betaln(k + a, n - k + b) - special.betaln(a, b))
        pmf = np.exp(logpmf)
        rest = max(0.0, 1.0 - float(pmf.sum())) if top < n else 0.0
        tail = np.cumsum(pmf[::-1])[::-1] + rest
        return tail, rest

    def bound(self, alpha: float) -> float:
        tail, _ = self._tails
        # Smallest count k with P(K > k) <= alpha; shares above k/n are beyond noise at this level.
        above = np.append(tail[1:], 0.0)
        k = int(np.argmax(above <= alpha))
        return k / self.n

    def p_value(self, value: float) -> float:
        count = round(value * self.n)
        if count <= 0:
            return 1.0
        tail, rest = self._tails if count <= self._top else self._tail(count)
        return float(min(1.0, tail[count])) if count < len(tail) else rest


def _beta_binomial_logpmf(k: np.ndarray, n: int, a: float, b: float) -> np.ndarray:
    return (special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
            + special.betaln(k + a, n - k + b) - special.betaln(a, b))


@dataclass(frozen=True)
class BetaBinomialRate(NullModel):
    """``|K/n - rate|``: how far the rate of ``n`` new rows lands from a reference ``rate`` when ``K`` is
    beta-binomial, ``K ~ BetaBinomial(n, a, b)`` (two-sided).

    A watched value (NaN, a sentinel) seen ``h`` times in ``m`` reference rows has a rate known up to
    ``Beta(h + 1, m - h + 1)``, so the count among ``n`` new rows of the same population is beta-binomial:
    exact for rare values and small samples, where the normal approximation of a difference of two
    proportions is optimistic by orders of magnitude in the tail (20 nulls in 1,000 reference rows, 100 new
    rows: 8 or more nulls happen with probability 2.3e-3, the normal approximation says 4e-5).

    >>> model = BetaBinomialRate(n=100, a=21, b=981, rate=0.02)
    >>> round(model.p_value(0.06), 5), round(model.bound(1e-3), 2)
    (0.00235, 0.06)
    """

    n: int
    a: float
    b: float
    rate: float

    @cached_property
    def _counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Counts ``k`` (ascending) around the mean, ``P(K >= k)``, ``P(K <= k)``, and the mass left out (added to
        both tails: conservative)."""
        n, a, b = self.n, self.a, self.b
        mean = n * a / (a + b)
        sd = math.sqrt(n * a * b * (a + b + n) / ((a + b) ** 2 * (a + b + 1.0)))
        # The mass lies within a few standard deviations; 14 of them, plus a margin for skewed rare rates,
        # leave out far less than the smallest level a report uses.
        lo = max(0, math.floor(min(mean, n * self.rate) - 14.0 * sd - 30))
        hi = min(n, math.ceil(max(mean, n * self.rate) + 14.0 * sd + 30))
        k = np.arange(lo, hi + 1, dtype=np.float64)
        # log pmf by its ratio from one count to the next: one log per count instead of four log-gammas.
        step = np.log((n - k[:-1]) * (k[:-1] + a) / ((k[:-1] + 1.0) * (n - k[:-1] - 1.0 + b)))
        first = float(_beta_binomial_logpmf(k[:1], n, a, b)[0])
        pmf = np.exp(first + np.concatenate([[0.0], np.cumsum(step)]))
        rest = max(0.0, 1.0 - float(pmf.sum()))
        return k, np.cumsum(pmf[::-1])[::-1] + rest, np.cumsum(pmf) + rest, rest

    def _beyond(self, dev: float, strict: bool) -> float:
        """``P(|K/n - rate| > dev)`` (``strict``) or ``>= dev``."""
        k, at_least, at_most, rest = self._counts
        eps = 1e-9  # counts are whole: n * (rate +- dev) within rounding of a count is that count
        up, down = self.n * (self.rate + dev), self.n * (self.rate - dev)
        first = math.floor(up + eps) + 1 if strict else math.ceil(up - eps)  # smallest count past the upper side
        last = math.ceil(down - eps) - 1 if strict else math.floor(down + eps)  # largest count past the lower side
        p = 0.0
        i = int(first - k[0])
        p += rest if i >= k.size else float(at_least[max(i, 0)])
        j = int(last - k[0])
        if last >= 0:
            p += rest if j < 0 else float(at_most[min(j, k.size - 1)])
        return min(1.0, p)

    @cached_property
    def _devs(self) -> np.ndarray:
        """The deviations the counts can take, ascending (the candidate bounds)."""
        k = self._counts[0]
        return np.unique(np.round(np.abs(k / self.n - self.rate), 12))

    def bound(self, alpha: float) -> float:
        # P(deviation > d) falls as d grows: bisect over the deviations the counts can take.
        devs = self._devs
        lo, hi = 0, devs.size - 1
        if self._beyond(float(devs[hi]), strict=True) > alpha:
            return float(devs[hi])
        while lo < hi:
            mid = (lo + hi) // 2
            if self._beyond(float(devs[mid]), strict=True) <= alpha:
                hi = mid
            else:
                lo = mid + 1
        return float(devs[lo])

    def p_value(self, value: float) -> float:
        if value <= 0:
            return 1.0
        return self._beyond(round(value, 12), strict=False)


#: The simulated null's own p-values are used while at least this many draws lie at or past the value; past
#: that (p below about 1 %) the fitted tail takes over.
TAIL_DRAWS = 20
#: Shares of the top draws whose mean excess measures how fast the tail decays (the slowest of the three
#: is used: a tail that gets heavier further out shows as a growing mean excess).
TAIL_FRACTIONS = (0.2, 0.1, 0.05)


@dataclass(frozen=True)
class Simulated(NullModel):
    """Empirical null: values of the statistic recomputed on samples drawn under no change, with an
    exponential tail past the draws.

    ``N`` draws resolve p-values down to ``1/(N+1)`` only, while a report's family-wise level is 1e-3 shared
    by a few hundred tests. Past the ``TAIL_DRAWS``-th largest draw ``x_T`` (empirical p-value ``p_T``), the
    p-value is extrapolated as ``p_T * exp(-(t(value) - t(x_T)) / beta)`` with ``t(x) = x ** tail_power``:
    ``beta`` is the largest mean excess of the transformed draws over their 80th, 90th and 95th percentiles.
    For a statistic whose mean excess shrinks further out, an exponential from lower down decays more slowly
    than the truth: conservative. ``tail_power`` 1 suits chi-square-like statistics (PSI: a gamma tail,
    exponential in the value); statistics with a Gaussian-like tail (a maximum or a mean of normal
    deviations: L-infinity, KS, Wasserstein; the square root of a chi-square: Jensen-Shannon) fall like
    ``exp(-c value**2)`` and are extrapolated in ``value**1.5``, still conservative but not by orders of
    magnitude. Measured against 10^6 draws of the same simulation (``tests/unit/stats/test_simulated_tail.py``),
    the p-value at the true 1e-4 and 1e-5 quantiles is within a factor of about 2 either way for PSI on few
    bins and sparse categories and 1 to 5 times conservative (Jensen-Shannon up to 25) for the others. Where
    the draws give no slope (ties at the top, infinite values) there is no tail and p-values stop at
    ``1/(N+1)``. ``p_value`` is monotone in the value and ``bound`` is its inverse.

    >>> model = Simulated(np.random.default_rng(0).exponential(1.0, 2000))
    >>> round(model.p_value(model.bound(1e-6)), 9), model.p_value(20.0) < 1e-6 < model.p_value(10.0)
    (1e-06, True)
    """

    draws: np.ndarray
    tail_power: float = 1.0

    def _t(self, x: float) -> float:
        """The scale the tail is exponential in (sign kept, so it is monotone for any value)."""
        return math.copysign(abs(x) ** self.tail_power, x) if self.tail_power != 1.0 else x

    @cached_property
    def _sorted(self) -> np.ndarray:
        return np.sort(self.draws)

    @cached_property
    def _tail(self) -> tuple[float, float, float] | None:
        """``(t(x_T), p_T, beta)``, or ``None`` when the draws cannot carry an extrapolation."""
        d = self._sorted
        size = d.size
        if size < 5 * TAIL_DRAWS or not np.all(np.isfinite(d)):
            return None
        if self.tail_power != 1.0:
            d = np.sign(d) * np.abs(d) ** self.tail_power
        beta = 0.0
        for share in TAIL_FRACTIONS:
            u = d[int(size * (1.0 - share))]
            excess = d[d > u] - u
            if excess.size:
                beta = max(beta, float(excess.mean()))
        if not beta > 0.0:
            return None
        return float(d[size - TAIL_DRAWS]), (1.0 + TAIL_DRAWS) / (size + 1.0), beta

    def bound(self, alpha: float) -> float:
        tail = self._tail
        if tail is not None and alpha < tail[1]:
            t_t, p_t, beta = tail
            t = t_t + beta * math.log(p_t / alpha)
            return math.copysign(abs(t) ** (1.0 / self.tail_power), t) if self.tail_power != 1.0 else t
        return float(np.quantile(self._sorted, 1.0 - alpha, method="higher"))

    def p_value(self, value: float) -> float:
        d = self._sorted
        at_or_past = d.size - int(np.searchsorted(d, value, side="left"))
        tail = self._tail
        if tail is None or at_or_past >= TAIL_DRAWS:
            return float((1 + at_or_past) / (d.size + 1))
        t_t, p_t, beta = tail
        return p_t * math.exp(-(self._t(value) - t_t) / beta)
