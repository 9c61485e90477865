"""Null models: every distance has one, bounds and p-values agree, the closed forms match scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sidecar.stats.distances import DISTANCES
from sidecar.stats.noise import NOISE, distance_noise, null_shares, proportion_difference, simulated_noise
from sidecar.stats.nullmodels import BetaBinomialShare, KolmogorovSmirnov, MaxAbsNormal, ScaledChiSquare

counts = st.lists(st.integers(0, 500), min_size=3, max_size=12)


def test_every_registered_distance_has_a_closed_form_null() -> None:
    assert set(NOISE) == set(DISTANCES)


@pytest.mark.parametrize("name", sorted(DISTANCES))
@settings(max_examples=25, deadline=None)
@given(ref=counts, data=st.data())
def test_distances_take_batches(name: str, ref: list[int], data: st.DataObject) -> None:
    rows = data.draw(st.lists(st.lists(st.integers(0, 500), min_size=len(ref), max_size=len(ref)), min_size=1,
                              max_size=5))
    r, batch = np.array(ref), np.array(rows)
    one_by_one = [DISTANCES[name](r, row) for row in batch]
    np.testing.assert_allclose(DISTANCES[name](r, batch), one_by_one, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(DISTANCES))
@pytest.mark.parametrize("simulate", [False, True])
def test_bound_and_p_value_agree(name: str, simulate: bool) -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.multinomial(400, np.full(8, 1 / 8)), rng.multinomial(150, np.full(8, 1 / 8))
    model = distance_noise(name, ref, cur, simulate=simulate)
    assert model is not None
    for alpha in (1e-2, 1e-3):
        bound = model.bound(alpha)
        assert model.p_value(bound * 1.05 + 1e-9) <= alpha * 1.01
        assert model.p_value(bound * 0.9) > alpha * 0.99
    assert model.bound(1e-3) >= model.bound(1e-2)


def test_closed_forms_match_scipy() -> None:
    chi = ScaledChiSquare(df=7, scale=0.02)
    assert chi.bound(1e-3) == pytest.approx(stats.chi2.isf(1e-3, 7) * 0.02)
    ks = KolmogorovSmirnov(n=200, m=300)
    assert ks.p_value(0.15) == pytest.approx(stats.kstwobign.sf(0.15 / np.sqrt(1 / 200 + 1 / 300)))
    normal = MaxAbsNormal(sd=0.01, tests=4)
    assert normal.p_value(0.03) == pytest.approx(8 * stats.norm.sf(3.0))
    for n, a, b in [(50, 2, 99), (1000, 2, 9999), (300, 4.5, 20)]:
        share = BetaBinomialShare(n=n, a=a, b=b)
        dist = stats.betabinom(n, a, b)
        for k in (1, 3, 10):
            assert share.p_value(k / n) == pytest.approx(dist.sf(k - 1), rel=1e-6, abs=1e-12)
        k = round(share.bound(1e-3) * n)
        assert dist.sf(k) <= 1e-3 < dist.sf(k - 1)


def test_beta_binomial_p_value_far_in_the_tail_is_a_probability() -> None:
    share = BetaBinomialShare(n=100_000, a=2, b=99_999)
    assert 0.0 <= share.p_value(0.03) < 1e-100 or share.p_value(0.03) == 0.0


def test_proportion_difference_is_two_sided() -> None:
    model = proportion_difference(10, 1000, 1000)
    assert model.p_value(0.0) == 1.0 and 0 < model.p_value(0.01) < 1


def test_null_shares_give_one_gap_to_bins_the_reference_left_empty() -> None:
    rng = np.random.default_rng(0)
    shares = null_shares(np.array([0, 50, 50, 0]), 20_000, rng)
    assert shares.shape == (20_000, 4)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    np.testing.assert_allclose(shares.mean(axis=0), [1 / 102, 50 / 102, 50 / 102, 1 / 102], rtol=0.05)


def test_simulation_is_reproducible_and_seeded_by_both_sides() -> None:
    ref = np.array([5, 40, 40, 5])
    a = simulated_noise(DISTANCES["psi"], ref, np.array([2, 20, 20, 3]), batched=True)
    b = simulated_noise(DISTANCES["psi"], ref, np.array([2, 20, 20, 3]), batched=True)
    c = simulated_noise(DISTANCES["psi"], ref, np.array([3, 20, 20, 2]), batched=True)
    assert np.array_equal(a.draws, b.draws) and not np.array_equal(a.draws, c.draws)


@pytest.mark.parametrize("name", sorted(DISTANCES))
def test_simulated_null_is_calibrated_when_the_reference_is_known(name: str) -> None:
    # A large reference fixes the shares; current samples from them exceed the 1e-2 bound about 1% of the
    # time (binomial 95% range for 400 trials: 0 to 9).
    rng = np.random.default_rng(2)
    shares = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    ref = np.round(shares * 1_000_000).astype(np.int64)
    hits = 0
    for _ in range(400):
        cur = rng.multinomial(80, shares)
        model = simulated_noise(DISTANCES[name], ref, cur, batched=True, draws=1000)
        hits += DISTANCES[name](ref, cur) > model.bound(1e-2)
    assert hits <= 10
