"""Drift distances between two binned distributions.

Each distance is a pure function ``(ref_counts, cur_counts) -> float`` over aligned count arrays (the
layout of :meth:`ColumnProfile.bin_counts`: for numbers ``[underflow, bins.., overflow, missing]``, for
categories ``[tracked.., other, missing]``). They are registered by name in :data:`DISTANCES`; identical
inputs give exactly 0 and no input gives NaN or inf.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sidecar.errors import UnknownNameError

__all__ = [
    "ALIASES",
    "DISTANCES",
    "EMPTY_BIN_COUNT",
    "ORDERED_ONLY",
    "Distance",
    "jensen_shannon",
    "ks",
    "l_infinity",
    "psi",
    "register_distance",
    "resolve_distance",
    "wasserstein",
]

Distance = Callable[[np.ndarray, np.ndarray], float]

#: PSI gives an empty bin the share of half a row of its own side (``0.5 / n``): ``ln(q/0)`` is infinite,
#: and a fixed floor (it was 1e-4) made one value just past a small reference's maximum add ~0.2 to PSI. Half
#: a row (the Jeffreys / add-half estimate) scales with the sample: in a 200-row reference the overflow bin
#: counts as 0.25%, in a 100,000-row one as 0.0005%, so a few values past the extremes of a small
#: sample are noise while 0.5% of values far outside a large one are not.
EMPTY_BIN_COUNT = 0.5

DISTANCES: dict[str, Distance] = {}
#: Other spellings accepted for registered names.
ALIASES: dict[str, str] = {"l_infinity": "l-infinity", "linf": "l-infinity", "js": "jensen-shannon",
                           "jensen_shannon": "jensen-shannon"}
#: Distances that need ordered bins (numeric columns only).
ORDERED_ONLY: set[str] = set()


def register_distance(name: str, *, ordered: bool = False) -> Callable[[Distance], Distance]:
    """Decorator registering a distance under ``name``; registering a name twice raises ``ValueError``."""

    def deco(fn: Distance) -> Distance:
        if name in DISTANCES or name in ALIASES:
            raise ValueError(f"distance {name!r} is already registered")
        DISTANCES[name] = fn
        if ordered:
            ORDERED_ONLY.add(name)
        return fn

    return deco


def resolve_distance(name: str) -> tuple[str, Distance]:
    """Canonical name and function for ``name`` (aliases allowed).

    Raises
    ------
    UnknownNameError
        Listing the accepted names, read from the registry.
    """
    canonical = ALIASES.get(name.lower(), name.lower()) if isinstance(name, str) else name
    if canonical not in DISTANCES:
        accepted = sorted([*DISTANCES, *ALIASES])
        raise UnknownNameError(f"unknown drift method {name!r}; accepted: {', '.join(accepted)} or a callable")
    return canonical, DISTANCES[canonical]


def _shares(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts / np.where(total > 0, total, 1.0), 0.0)


def _out(x: np.ndarray) -> Any:
    """A float for one pair of count arrays, an array for a batch (rows of the last axis)."""
    return float(x) if np.ndim(x) == 0 else x


# Every distance also takes a batch: ``cur`` (or both) of shape (draws, bins), reduced over the last axis,
# so the noise simulation (sidecar.stats.noise) evaluates thousands of null draws in one call.


@register_distance("l-infinity")
def l_infinity(ref: np.ndarray, cur: np.ndarray) -> float:
    """Largest absolute difference of bin shares: ``max_i |p_ref_i - p_cur_i|``.

    >>> l_infinity(np.array([50, 50, 0]), np.array([25, 50, 25]))
    0.25
    >>> l_infinity(np.array([3, 1]), np.array([3, 1]))
    0.0
    """
    diff = np.abs(_shares(ref) - _shares(cur))
    if diff.shape[-1] == 0:
        return _out(np.zeros(diff.shape[:-1]))
    return _out(diff.max(axis=-1))


def _smoothed_shares(counts: np.ndarray) -> np.ndarray:
    """Shares with each empty bin counted as :data:`EMPTY_BIN_COUNT` rows of its side."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    return np.where(total > 0, np.where(counts > 0, counts, EMPTY_BIN_COUNT) / safe, 0.0)


@register_distance("psi")
def psi(ref: np.ndarray, cur: np.ndarray) -> float:
    """Population stability index: ``sum_i (q_i - p_i) * ln(q_i / p_i)``, where a bin empty on one side
    counts as half a row of that side (:data:`EMPTY_BIN_COUNT`), so PSI is never NaN or inf. Every term is
    >= 0, bins empty on both sides add nothing.

    >>> round(psi(np.array([50, 50]), np.array([25, 75])), 6)
    0.274653
    >>> round(psi(np.array([100, 100, 0]), np.array([50, 48, 2])), 6)
    0.037207
    >>> psi(np.array([5, 0, 5]), np.array([5, 0, 5]))
    0.0
    """
    ref, cur = np.asarray(ref), np.asarray(cur)
    used = (ref > 0) | (cur > 0)
    p, q = _smoothed_shares(ref), _smoothed_shares(cur)
    both = (p > 0) & (q > 0) & used
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(both, (q - p) * np.log(np.where(both, q / np.where(both, p, 1.0), 1.0)), 0.0)
    return _out(np.maximum(terms.sum(axis=-1), 0.0))


@register_distance("jensen-shannon")
def jensen_shannon(ref: np.ndarray, cur: np.ndarray) -> float:
    """Jensen-Shannon distance (square root of the divergence, base 2), in ``[0, 1]``.

    >>> jensen_shannon(np.array([1, 0]), np.array([0, 1]))
    1.0
    >>> jensen_shannon(np.array([2, 2]), np.array([2, 2]))
    0.0
    """
    p, q = _shares(ref), _shares(cur)
    m = (p + q) / 2.0

    def kl(a: np.ndarray) -> np.ndarray:
        mask = a > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(mask, a * np.log2(np.where(mask, a, 1.0) / np.where(mask, m, 1.0)), 0.0).sum(axis=-1)

    div = np.maximum((kl(p) + kl(q)) / 2.0, 0.0)
    return _out(np.minimum(np.sqrt(div), 1.0))


@register_distance("ks", ordered=True)
def ks(ref: np.ndarray, cur: np.ndarray) -> float:
    """Kolmogorov-Smirnov statistic on the binned CDFs: ``max_k |F_ref(k) - F_cur(k)|``.

    >>> ks(np.array([10, 0, 0]), np.array([0, 0, 10]))
    1.0
    >>> ks(np.array([1, 2, 3]), np.array([1, 2, 3]))
    0.0
    """
    diff = np.abs(np.cumsum(_shares(ref), axis=-1) - np.cumsum(_shares(cur), axis=-1))
    if diff.shape[-1] == 0:
        return _out(np.zeros(diff.shape[:-1]))
    return _out(diff.max(axis=-1))


@register_distance("wasserstein", ordered=True)
def wasserstein(ref: np.ndarray, cur: np.ndarray) -> float:
    """Wasserstein-1 distance between the histograms over equally spaced bin ranks, divided by the
    number of gaps so it lies in ``[0, 1]``. With quantile bins this is the earth mover's distance in
    reference-quantile space, which makes one threshold fit every feature's scale.

    >>> wasserstein(np.array([1, 0, 0]), np.array([0, 0, 1]))
    1.0
    >>> wasserstein(np.array([1, 1, 0]), np.array([0, 1, 1]))
    0.5
    """
    gaps = np.shape(ref)[-1] - 1
    diff = np.abs(np.cumsum(_shares(ref), axis=-1) - np.cumsum(_shares(cur), axis=-1))
    if gaps <= 0:
        return _out(np.zeros(diff.shape[:-1]))
    return _out(np.minimum(diff[..., :-1].sum(axis=-1) / gaps, 1.0))
