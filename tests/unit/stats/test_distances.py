"""Every registered distance: zero on identical input, finite everywhere, registry behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.errors import UnknownNameError
from sidecar.stats.distances import DISTANCES, psi, register_distance, resolve_distance

counts = st.lists(st.integers(0, 1000), min_size=2, max_size=30)


@pytest.mark.parametrize("name", sorted(DISTANCES))
@given(a=counts)
def test_identical_inputs_give_zero(name: str, a: list[int]) -> None:
    arr = np.array(a)
    assert DISTANCES[name](arr, arr) == 0.0


@pytest.mark.parametrize("name", sorted(DISTANCES))
@given(data=st.data())
def test_finite_and_non_negative(name: str, data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 25))
    a = np.array(data.draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)))
    b = np.array(data.draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)))
    d = DISTANCES[name](a, b)
    assert math.isfinite(d) and d >= 0.0


def test_psi_with_empty_bins_is_finite() -> None:
    assert math.isfinite(psi(np.array([100, 0, 0]), np.array([0, 0, 100])))
    assert psi(np.array([0, 0]), np.array([0, 0])) == 0.0


def test_aliases_resolve_to_one_function() -> None:
    assert resolve_distance("l_infinity")[0] == resolve_distance("l-infinity")[0] == "l-infinity"
    assert resolve_distance("linf")[0] == "l-infinity"


def test_unknown_name_lists_registered_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        resolve_distance("euclid")
    for name in DISTANCES:
        assert name in str(info.value)
    assert isinstance(info.value, ValueError)


def test_registering_twice_raises() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_distance("psi")(lambda a, b: 0.0)
