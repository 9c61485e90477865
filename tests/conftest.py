"""Shared fixtures: deterministic reference and drifted frames."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

# Hypothesis fails an example that takes over 200 ms by default: a timing assertion, which flakes when two
# cores are shared with a broker. Speed lives in benchmarks/; property tests check properties only.
settings.register_profile("sidecar", deadline=None)
settings.load_profile("sidecar")


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


@pytest.fixture
def reference() -> pd.DataFrame:
    return make_frame(5000, seed=0)


@pytest.fixture
def current() -> pd.DataFrame:
    """Same distribution, different sample."""
    return make_frame(5000, seed=1)


@pytest.fixture(autouse=True)
def _stock_aiokafka() -> Iterator[None]:
    """A sidecar started in-process installs ``kafka.fast_io`` for the whole process; put aiokafka's own
    classes back after every test so no test depends on which ran before it."""
    yield
    from sidecar.stream import kafkaio

    kafkaio.uninstall()
