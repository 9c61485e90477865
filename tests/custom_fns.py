"""Importable custom checks and distances the tests refer to by import path (``custom_fns:...``)."""

from __future__ import annotations

import numpy as np


def spend_ok(reference, current) -> bool:
    """No negative spend except the -1 sentinel."""
    return current.minimum >= -1


def max_moved(reference, current) -> float:
    """How far the maximum moved."""
    return abs(current.maximum - reference.maximum)


def total_variation(ref: np.ndarray, cur: np.ndarray) -> float:
    """Sum of absolute share differences."""
    return float(np.abs(ref / ref.sum() - cur / max(cur.sum(), 1)).sum())


def no_negative_spend(column) -> bool:
    """A one-argument check: sees the current column (a pandas Series in batch validation)."""
    return bool((column.dropna() >= -1).all())
