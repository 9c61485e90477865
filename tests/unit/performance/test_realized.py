"""Realized production metrics equal scikit-learn's (within 1e-9) on fixed, tied, degenerate and generated pairs."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from sidecar.errors import ConfigurationError
from sidecar.performance.realized import (
    CLASSIFICATION_METRICS,
    ECE_BINS,
    REGRESSION_METRICS,
    classification_metrics,
    delay_quantiles,
    regression_metrics,
)

TOL = 1e-9


def ece_by_loop(y: np.ndarray, p: np.ndarray) -> float:
    """The calibration error written the slow, obvious way (one bin at a time)."""
    total = 0.0
    for b in range(ECE_BINS):
        lo, hi = b / ECE_BINS, (b + 1) / ECE_BINS
        inside = (p >= lo) & ((p < hi) if b < ECE_BINS - 1 else (p <= hi))
        if inside.any():
            total += inside.sum() / p.size * abs(y[inside].mean() - p[inside].mean())
    return float(total)


def _sk(fn: Callable[[], float]) -> float:
    """scikit-learn's value, NaN where it refuses (ROC AUC with one class)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(fn())
    except ValueError:
        return float("nan")


#: How scikit-learn (or, for ECE which it lacks, the loop above) computes each metric.
REFERENCE: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "accuracy": lambda y, p, yp: _sk(lambda: skm.accuracy_score(y, yp)),
    "precision": lambda y, p, yp: _sk(lambda: skm.precision_score(y, yp, zero_division=np.nan)),
    "recall": lambda y, p, yp: _sk(lambda: skm.recall_score(y, yp, zero_division=np.nan)),
    "f1": lambda y, p, yp: _sk(lambda: skm.f1_score(y, yp, zero_division=np.nan)),
    "roc_auc": lambda y, p, yp: _sk(lambda: skm.roc_auc_score(y, p)),
    "log_loss": lambda y, p, yp: _sk(lambda: skm.log_loss(y, p, labels=[0, 1])),
    "brier": lambda y, p, yp: _sk(lambda: skm.brier_score_loss(y, p, labels=[0, 1])),
    "positive_rate": lambda y, p, yp: float(np.mean(yp)),
    "ece": lambda y, p, yp: ece_by_loop(y, p),
}


def assert_matches_sklearn(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    got = classification_metrics(y, p, threshold)
    yp = (p >= threshold).astype(int)
    for name in CLASSIFICATION_METRICS:
        want = REFERENCE[name](y, p, yp)
        if math.isnan(want):
            assert math.isnan(got[name]), (name, got[name], y, p)
        else:
            assert got[name] == pytest.approx(want, abs=TOL, rel=TOL), (name, y, p)
    return got


def test_conformance_every_metric_name_has_a_reference_and_a_value() -> None:
    assert set(REFERENCE) == set(CLASSIFICATION_METRICS)
    got = classification_metrics(np.array([0, 1, 1, 0, 1]), np.array([0.1, 0.8, 0.3, 0.55, 0.99]))
    assert list(got) == list(CLASSIFICATION_METRICS)
    assert all(isinstance(v, float) and math.isfinite(v) for v in got.values())
    reg = regression_metrics(np.array([1.0, 2.0]), np.array([1.5, 1.0]))
    assert list(reg) == list(REGRESSION_METRICS)
    assert all(isinstance(v, float) and math.isfinite(v) for v in reg.values())


@pytest.mark.parametrize(("y", "p"), [
    ([0, 1, 1, 0, 1, 0], [0.1, 0.9, 0.4, 0.6, 0.5, 0.5]),             # score exactly at the threshold
    ([0, 1, 0, 1, 0, 1], [0.3, 0.3, 0.3, 0.7, 0.7, 0.3]),             # heavy ties across classes
    ([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]),                             # one score for all: AUC 0.5
    ([0, 0, 1, 1], [0.0, 1.0, 0.0, 1.0]),                             # hard 0/1 scores: log loss clipped
    ([1, 1, 0], [1.0, 1.0, 0.0]),                                     # perfect and certain
    ([0, 1], [1.0, 0.0]),                                             # certain and wrong: 36.04 per row
    ([1, 0, 1, 0, 1], [0.95, 0.05, 0.15, 0.85, 0.999999]),
])
def test_fixed_cases_equal_sklearn(y: list[int], p: list[float]) -> None:
    assert_matches_sklearn(np.array(y), np.array(p))


def test_log_loss_clips_a_certain_miss_to_ln_one_over_eps() -> None:
    got = classification_metrics(np.array([0]), np.array([1.0]))
    assert got["log_loss"] == pytest.approx(-math.log(np.finfo(np.float64).eps), abs=TOL)
    assert got["log_loss"] == pytest.approx(36.04365338911715, abs=1e-9)


@pytest.mark.parametrize(("y", "p", "undefined"), [
    ([1, 1, 1], [0.9, 0.2, 0.7], {"roc_auc"}),                         # one class: no AUC
    ([0, 0, 0], [0.1, 0.2, 0.3], {"roc_auc", "recall", "precision", "f1"}),  # nothing positive anywhere
    ([0, 0, 0], [0.1, 0.8, 0.3], {"roc_auc", "recall"}),              # predicted positives, none real
    ([1, 0, 1], [0.1, 0.2, 0.3], {"precision"}),                      # nothing predicted positive
])
def test_degenerate_windows_give_nan_where_undefined(y: list[int], p: list[float], undefined: set[str]) -> None:
    got = assert_matches_sklearn(np.array(y), np.array(p))
    assert {name for name, v in got.items() if math.isnan(v)} == undefined


def test_empty_window_is_all_nan_and_never_raises() -> None:
    empty = np.array([], dtype=float)
    assert all(math.isnan(v) for v in classification_metrics(empty, empty).values())
    assert all(math.isnan(v) for v in regression_metrics(empty, empty).values())
    assert all(math.isnan(v) for v in delay_quantiles(empty).values())


def test_booleans_and_custom_threshold() -> None:
    y = np.array([True, False, True, False, True])
    p = np.array([0.7, 0.65, 0.2, 0.1, 0.9])
    got = assert_matches_sklearn(y, p, threshold=0.68)
    assert got["positive_rate"] == 0.4


def test_input_mistakes_raise_naming_the_problem() -> None:
    with pytest.raises(ConfigurationError, match=r"y_true has 2 values and y_score 3"):
        classification_metrics(np.array([0, 1]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match=r"binary outcomes 0/1.*found 2\.0"):
        classification_metrics(np.array([0, 2]), np.array([0.1, 0.2]))


labels = st.lists(st.integers(0, 1), min_size=1, max_size=60)
# Scores on a coarse grid produce many ties; the full [0, 1] range includes 0.0 and 1.0 themselves.
grid_scores = st.integers(0, 10).map(lambda k: k / 10)
any_scores = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200)
@given(st.data())
def test_generated_classification_pairs_equal_sklearn(data: st.DataObject) -> None:
    y = np.array(data.draw(labels))
    scores = st.one_of(grid_scores, any_scores)
    p = np.array(data.draw(st.lists(scores, min_size=y.size, max_size=y.size)))
    threshold = data.draw(st.sampled_from([0.5, 0.3, 0.9]))
    assert_matches_sklearn(y, p, threshold)


def test_large_window_with_ties_equals_sklearn() -> None:
    rng = np.random.default_rng(3)
    p = np.round(rng.beta(2, 3, size=50_000), 3)       # 1,000 distinct values: ties everywhere
    y = (rng.uniform(size=p.size) < p).astype(int)
    assert_matches_sklearn(y, p)


def assert_regression_matches(y: np.ndarray, yhat: np.ndarray) -> None:
    got = regression_metrics(y, yhat)
    want = {
        "mae": skm.mean_absolute_error(y, yhat),
        "rmse": skm.root_mean_squared_error(y, yhat),
        "mape": skm.mean_absolute_percentage_error(y, yhat),
        "bias": float(np.mean(yhat - y)),
    }
    assert set(want) == set(REGRESSION_METRICS)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, abs=TOL, rel=TOL), name


@pytest.mark.parametrize(("y", "yhat"), [
    ([1.0, 2.0, 4.0], [2.0, 2.0, 2.0]),
    ([0.0, 0.0, 3.0], [1e-12, 0.0, 2.0]),                             # zero outcomes: MAPE's epsilon
    ([-5.0, 5.0], [-4.0, 7.0]),
    ([3.0], [3.0]),
])
def test_fixed_regression_cases_equal_sklearn(y: list[float], yhat: list[float]) -> None:
    assert_regression_matches(np.array(y), np.array(yhat))


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=200)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=60))
def test_generated_regression_pairs_equal_sklearn(pairs: list[tuple[float, float]]) -> None:
    y, yhat = (np.array(c) for c in zip(*pairs, strict=True))
    assert_regression_matches(y, yhat)


def test_delay_quantiles_keys_and_values() -> None:
    delays = np.arange(1.0, 101.0)
    got = delay_quantiles(delays)
    assert list(got) == ["p50", "p90", "p99"]
    assert got == {k: pytest.approx(float(np.quantile(delays, q))) for k, q in
                   (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))}
    assert delay_quantiles(np.array([5.0, np.nan]), qs=(0.5,)) == {"p50": 5.0}
