"""Deterministic test frames. A module of its own: ``conftest`` is not importable by name from tests, because
``tests/integration/conftest.py`` may be the ``conftest`` module Python finds first."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_frame"]


def make_frame(n: int = 5000, seed: int = 0) -> pd.DataFrame:
    """A small mixed-type frame like a churn model's inputs."""
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2.0, 50.0, n)
    spend[rng.random(n) < 0.02] = np.nan
    spend[rng.random(n) < 0.03] = -1.0
    return pd.DataFrame(
        {
            "cust_id": np.arange(n),
            "age": rng.integers(18, 90, n),
            "tenure": rng.normal(24, 8, n),
            "spend": spend,
            "plan": pd.Series(rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]), dtype="string"),
            "country": pd.Categorical(rng.choice(["DE", "FR", "US", "UK"], n)),
            "active": rng.random(n) > 0.3,
            "signup": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h"),
        }
    )
