"""Null models: the distribution of a check's statistic when nothing changed.

Each answers ``bound(alpha)`` (in the statistic's own units: the value chance alone exceeds with
probability ``alpha``) and ``p_value(value)``; the two agree, ``value > bound(alpha)`` exactly when
``p_value(value) < alpha`` up to the discreteness of count models. Which model fits which check, and the
simulated null of the drift distances, are in :mod:`sidecar.stats.noise`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

__all__ = [
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
        """A count past all but about 1e-9 of the mass."""
        q = float(special.betaincinv(self.a, self.b, 1.0 - 1e-9))
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


@dataclass(frozen=True)
class Simulated(NullModel):
    """Empirical null: values of the statistic recomputed on samples drawn under no change."""

    draws: np.ndarray

    def bound(self, alpha: float) -> float:
        return float(np.quantile(self.draws, 1.0 - alpha, method="higher"))

    def p_value(self, value: float) -> float:
        return float((1 + np.count_nonzero(self.draws >= value)) / (self.draws.size + 1))
