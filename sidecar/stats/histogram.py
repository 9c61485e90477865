"""Fixed-edge histograms for numeric columns.

Bin layout (shared by every profile, batch or stream, so counts add up across them)::

    [underflow, bin_0 .. bin_{k-1}, overflow, missing]

``bin_i`` holds ``edges[i] <= x < edges[i+1]``; the last regular bin is closed on the right so the
reference maximum lands inside it. Missing values (NaN) get a bin of their own so that a feature that goes
null shows up as distribution drift too.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DISCRETE_LIMIT",
    "bin_counts",
    "bin_counts_sorted",
    "lower_edges",
    "n_slots",
    "quantile_edges",
    "quantile_edges_sorted",
    "slots",
]

#: A column with at most this many distinct values gets one bin per value instead of quantile bins:
#: quantile edges on a few discrete values would put neighbours into one bin and hide a shift between them.
DISCRETE_LIMIT = 20


def quantile_edges(values: np.ndarray, n_bins: int = 20) -> np.ndarray:
    """Bin edges at the reference quantiles of ``values`` (NaN ignored).

    Examples
    --------
    >>> quantile_edges(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), n_bins=4).tolist()
    [1.0, 1.5, 2.5, 3.5, 4.5, 5.0]
    >>> quantile_edges(np.arange(101.0), n_bins=4).tolist()
    [0.0, 25.0, 50.0, 75.0, 100.0]
    """
    finite = values[~np.isnan(values)]  # boolean indexing copies, so sorting in place is safe
    finite.sort()
    return quantile_edges_sorted(finite, n_bins)


def quantile_edges_sorted(finite: np.ndarray, n_bins: int = 20) -> np.ndarray:
    """:func:`quantile_edges` of values already sorted and free of NaN."""
    if finite.size == 0:
        return np.array([0.0, 0.0])
    differs = finite[1:] != finite[:-1]
    # Count before indexing: an index per distinct value would cost 8 bytes a row on continuous data.
    if np.count_nonzero(differs) < DISCRETE_LIMIT:
        change = np.flatnonzero(differs)
        uniq = np.concatenate([finite[:1], finite[change + 1]])
        if uniq.size == 1:
            return np.array([uniq[0], uniq[0]])
        mids = (uniq[1:] + uniq[:-1]) / 2.0
        return np.concatenate([uniq[:1], mids, uniq[-1:]])
    pos = np.linspace(0, finite.size - 1, n_bins + 1)
    return np.unique(finite[np.round(pos).astype(np.int64)])


def n_slots(edges: np.ndarray) -> int:
    """Number of counters a histogram over ``edges`` needs (regular bins plus under/overflow/missing)."""
    return max(len(edges) - 1, 1) + 3


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Count ``values`` into the slot layout described in the module docstring.

    The slot of ``x`` is the number of lower edges at or below it, plus one above the last edge: one
    vectorised comparison per edge. With twenty-odd edges that is several times faster than
    ``np.searchsorted``'s binary search per value, and gives the same slots.

    Examples
    --------
    >>> bin_counts(np.array([0.0, 1.0, 1.5, 2.0, 9.0, np.nan]), np.array([1.0, 1.5, 2.0])).tolist()
    [1, 1, 2, 1, 1]
    >>> bin_counts(np.array([4.0, 5.0, 6.0, np.nan]), np.array([5.0, 5.0])).tolist()
    [1, 1, 1, 1]
    """
    k = max(len(edges) - 1, 1)
    slot = slots(values, lower_edges(edges), edges[-1])
    slot[np.isnan(values)] = k + 2
    return np.bincount(slot, minlength=k + 3).astype(np.int64)


def lower_edges(edges: np.ndarray) -> np.ndarray:
    """The edges a value is compared against with ``>=``: all but the last, except that a constant
    reference column (edges ``[c, c]``) has one bin holding exactly ``c``."""
    return edges[:1] if len(edges) == 2 and edges[0] == edges[1] else edges[:-1]


def slots(values: np.ndarray, lower: np.ndarray, last: np.ndarray | float) -> np.ndarray:
    """Slot of every value (NaN rows still to be set to the missing slot): the number of ``lower`` edges at or
    below it, plus one above ``last``. ``lower`` iterates over edge rows that broadcast against ``values``
    (NaN edges never count), so one call bins a whole (columns x rows) block."""
    if len(lower) + 2 >= 256:
        wide: np.ndarray = (values > last).astype(np.uint16)
        for e in lower:
            wide += values >= e
        return wide
    # uint8 + uint8 on a reused buffer: 12 % faster than adding fresh bool arrays (a casting loop).
    slot: np.ndarray = (values > last).view(np.uint8)
    hit = np.empty(slot.shape, dtype=bool)
    hit8 = hit.view(np.uint8)
    for e in lower:
        np.greater_equal(values, e, out=hit)
        slot += hit8
    return slot


def bin_counts_sorted(present_sorted: np.ndarray, edges: np.ndarray, n_missing: int) -> np.ndarray:
    """:func:`bin_counts` of sorted, NaN-free values plus ``n_missing`` NaNs: k+1 binary searches, not n.

    >>> bin_counts_sorted(np.array([0.0, 1.0, 1.5, 2.0, 9.0]), np.array([1.0, 1.5, 2.0]), 1).tolist()
    [1, 1, 2, 1, 1]
    """
    if len(edges) == 2 and edges[0] == edges[1]:
        lo, hi = np.searchsorted(present_sorted, edges[0], "left"), np.searchsorted(present_sorted, edges[0], "right")
        return np.array([lo, hi - lo, present_sorted.size - hi, n_missing], dtype=np.int64)
    pos = np.searchsorted(present_sorted, edges, side="left")
    pos[-1] = np.searchsorted(present_sorted, edges[-1], side="right")
    inner = np.diff(np.concatenate([[0], pos, [present_sorted.size]]))
    return np.append(inner, n_missing).astype(np.int64)
