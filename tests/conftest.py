"""Shared fixtures: deterministic reference and drifted frames (built by :func:`frames.make_frame`)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from frames import make_frame
from hypothesis import settings

# Hypothesis fails an example that takes over 200 ms by default: a timing assertion, which flakes when two
# cores are shared with a broker. Speed lives in benchmarks/; property tests check properties only.
settings.register_profile("sidecar", deadline=None)
settings.load_profile("sidecar")


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
    from sidecar.kafka import fastio

    fastio.uninstall()
