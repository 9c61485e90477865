"""The demo's stand-in model: a fixed logistic score over the churn inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["predict"]


def predict(inputs: pd.DataFrame) -> pd.DataFrame:
    """Churn probability and label per row (deterministic; no training needed)."""
    tenure = inputs["tenure_months"].fillna(12.0).to_numpy(dtype=float)
    spend = inputs["monthly_spend"].clip(lower=0).to_numpy(dtype=float)
    calls = inputs["support_calls"].to_numpy(dtype=float)
    z = -1.0 - 0.04 * tenure + 0.006 * spend + 0.5 * calls
    p = 1.0 / (1.0 + np.exp(-z))
    return pd.DataFrame({"churn_probability": p.round(4), "churn_label": p > 0.5})
