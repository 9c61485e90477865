"""Deterministic synthetic churn-model data: the bundled reference set and drifting traffic."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PLANS", "churn_frame"]

PLANS = ("basic", "plus", "pro")
COUNTRIES = ("DE", "FR", "US", "UK", "ES")


def churn_frame(n: int, seed: int = 0, drift: float = 0.0, start: str = "2026-01-01") -> pd.DataFrame:
    """``n`` rows of a churn model's inputs; ``drift`` in [0, 1] shifts spend, nulls tenure, adds a plan.

    Examples
    --------
    >>> churn_frame(3).shape
    (3, 8)
    """
    rng = np.random.default_rng(seed)
    plan_p = np.array([0.5, 0.3, 0.2])
    plans = np.array((*PLANS, "enterprise"), dtype=object)
    p = np.append(plan_p * (1 - 0.3 * drift), 0.3 * drift)
    tenure = rng.gamma(3.0, 8.0, n) * (1 + 0.5 * drift)
    tenure[rng.random(n) < 0.01 + 0.3 * drift] = np.nan
    spend = rng.lognormal(4.0 + 0.6 * drift, 0.5, n)
    spend[rng.random(n) < 0.02] = -1.0  # the billing system's "unknown" sentinel
    return pd.DataFrame(
        {
            "customer_id": [f"c{seed:03d}-{i:07d}" for i in range(n)],
            "age": rng.integers(18, 80, n),
            "tenure_months": tenure.round(1),
            "monthly_spend": spend.round(2),
            "support_calls": rng.poisson(1.0 + 2.0 * drift, n),
            "plan": rng.choice(plans, n, p=p),
            "country": rng.choice(np.array(COUNTRIES, dtype=object), n),
            "signup_date": pd.Timestamp(start) - pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D"),
        }
    )
