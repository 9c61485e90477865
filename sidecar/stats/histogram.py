"""Fixed-edge histograms for numeric columns.

Bin layout (shared by every profile, batch or stream, so counts add up across them)::

    [underflow, bin_0 .. bin_{k-1}, overflow, missing]

``bin_i`` holds ``edges[i] <= x < edges[i+1]``; the last regular bin is closed on the right so the
reference maximum lands inside it. Missing values (NaN) get a bin of their own so that a feature that goes
null shows up as distribution drift too.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DISCRETE_LIMIT", "bin_counts", "n_slots", "quantile_edges"]

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
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return np.array([0.0, 0.0])
    finite = np.sort(finite)
    # Distinct values are cheap to read off the sorted array; few of them means a discrete column.
    change = np.flatnonzero(finite[1:] != finite[:-1])
    if change.size < DISCRETE_LIMIT:
        uniq = np.concatenate([finite[:1], finite[change + 1]])
        if uniq.size == 1:
            return np.array([uniq[0], uniq[0]])
        mids = (uniq[1:] + uniq[:-1]) / 2.0
        return np.concatenate([uniq[:1], mids, uniq[-1:]])
    pos = np.linspace(0, finite.size - 1, n_bins + 1)
    edges = finite[np.round(pos).astype(np.int64)]
    return np.unique(edges)


def n_slots(edges: np.ndarray) -> int:
    """Number of counters a histogram over ``edges`` needs (regular bins plus under/overflow/missing)."""
    return max(len(edges) - 1, 1) + 3


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Count ``values`` into the slot layout described in the module docstring.

    Examples
    --------
    >>> bin_counts(np.array([0.0, 1.0, 1.5, 2.0, 9.0, np.nan]), np.array([1.0, 1.5, 2.0])).tolist()
    [1, 1, 2, 1, 1]
    """
    k = max(len(edges) - 1, 1)
    idx = np.searchsorted(edges, values, side="right")
    # searchsorted puts x == edges[-1] past the end; the last bin is closed, so pull it back in.
    idx[values == edges[-1]] = len(edges) - 1
    if len(edges) == 2 and edges[0] == edges[1]:
        # Constant reference column: one bin holding exactly that value.
        idx = np.where(values < edges[0], 0, np.where(values > edges[0], 2, 1))
    idx = np.where(np.isnan(values), k + 2, idx)
    return np.bincount(idx, minlength=k + 3).astype(np.int64)
