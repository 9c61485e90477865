"""CBPE: the calibration, the expected confusion matrix, the bands, persistence, and the issue's accuracy bound
(estimated accuracy within 0.02 of the realized in at least 95 % of 2,000-prediction windows under covariate
shift, on the synthetic classifier of ``benchmarks/estimation.py``)."""

from __future__ import annotations

import json
import math
from types import ModuleType

import numpy as np
import pytest
from benchscripts import load_benchmark
from sklearn.isotonic import IsotonicRegression

from sidecar.errors import ConfigurationError
from sidecar.performance.cbpe import CBPE, ESTIMATED_METRICS, Estimate
from sidecar.performance.realized import classification_metrics


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("estimation.py")


def identity() -> CBPE:
    """A CBPE whose calibration is the identity: scores are taken as probabilities."""
    return CBPE(np.array([0.0, 1.0]), np.array([0.0, 1.0]), reference_rows=2)


@pytest.mark.timeout(60)
def test_estimated_accuracy_within_002_in_95_percent_of_windows_under_covariate_shift(bench: ModuleType) -> None:
    result = bench.run(windows=100, window_rows=2_000, reference_rows=50_000, seed=bench.SEED)
    s = result["summary"]
    errors = np.array([w["error"] for w in result["windows"]])
    assert len(errors) == 100
    assert np.mean(errors <= 0.02) >= 0.95, s
    assert s["ok"] is True
    # The windows really moved: accuracy spans a wide range, so the bound is not met by a constant.
    low, high = s["accuracy_range"]
    assert high - low > 0.1
    # The raw (under-confident) scores would miss it: the calibration is what makes the estimate right.
    assert s["uncalibrated_share_within"] < 0.5
    # The 95 % band is a 95 % band (binomial slack for 100 windows).
    assert 0.88 <= s["band_coverage"] <= 1.0


def test_benchmark_exits_1_when_the_share_is_missed(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    # Windows of 50 predictions cannot be within 0.02 most of the time: the script must say so.
    assert bench.main(["--windows", "20", "--window-rows", "50", "--reference-rows", "5000"]) == 1
    assert "MISSED" in capsys.readouterr().out


def test_calibration_equals_sklearn_isotonic_regression() -> None:
    rng = np.random.default_rng(1)
    s = np.round(rng.uniform(size=5_000), 2)           # ties: isotonic averages the outcomes of equal scores
    y = rng.uniform(size=s.size) < s ** 2
    cbpe = CBPE.fit(y, s)
    new = np.concatenate([rng.uniform(-0.1, 1.1, size=2_000), [0.0, 1.0]])
    want = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(s, y.astype(float)).predict(new)
    np.testing.assert_allclose(cbpe.calibrate(new), want, atol=1e-9, rtol=0)
    # Only the blocks' end points are kept, yet nothing changes.
    assert cbpe.to_dict()["scores"].__len__() < np.unique(s).size


def test_expected_confusion_matrix_by_hand() -> None:
    est = identity().estimate(np.array([0.9, 0.8, 0.3, 0.1]))
    # predicted positive: 0.9, 0.8 -> TP 1.7, FP 0.3; predicted negative: 0.3, 0.1 -> FN 0.4, TN 1.6.
    assert est["accuracy"].value == pytest.approx(3.3 / 4)
    assert est["precision"].value == pytest.approx(1.7 / 2)
    assert est["recall"].value == pytest.approx(1.7 / 2.1)
    assert est["f1"].value == pytest.approx(3.4 / 4.1)
    # Accuracy's variance is exact: sum p (1 - p) / n^2.
    se = math.sqrt((0.09 + 0.16 + 0.21 + 0.09) / 16)
    assert est["accuracy"].value - est["accuracy"].lower == pytest.approx(1.959964 * se, rel=1e-5)
    assert est["accuracy"].upper == 1.0                  # the band is clipped to [0, 1]
    assert list(est) == list(ESTIMATED_METRICS)


def auc_by_pairs(score: np.ndarray, p: np.ndarray) -> float:
    """Expected correctly ordered pairs over expected pairs, by a double loop (i != j)."""
    good = total = 0.0
    for i in range(score.size):
        for j in range(score.size):
            if i == j:
                continue
            w = p[i] * (1 - p[j])                         # i positive, j negative
            total += w
            good += w * (1.0 if score[i] > score[j] else 0.5 if score[i] == score[j] else 0.0)
    return good / total


def test_estimated_roc_auc_is_the_expected_pair_ordering() -> None:
    rng = np.random.default_rng(2)
    score = np.round(rng.uniform(size=40), 1)
    est = identity().estimate(score)["roc_auc"]
    assert est.value == pytest.approx(auc_by_pairs(score, score), abs=1e-12)


def test_estimated_roc_auc_agrees_with_the_realized_on_calibrated_data() -> None:
    rng = np.random.default_rng(4)
    p = rng.beta(2, 2, size=200_000)
    y = rng.uniform(size=p.size) < p
    assert identity().estimate(p)["roc_auc"].value == pytest.approx(classification_metrics(y, p)["roc_auc"],
                                                                    abs=0.005)


@pytest.mark.parametrize("metric", ESTIMATED_METRICS)
def test_band_covers_the_realized_metric_about_95_percent_of_the_time(metric: str) -> None:
    rng = np.random.default_rng(5)
    score = rng.beta(2, 2, size=1_000)
    band = identity().estimate(score)[metric]
    inside = 0
    trials = 400
    for _ in range(trials):
        y = rng.uniform(size=score.size) < score         # outcomes as the calibrated probabilities say
        inside += band.lower <= classification_metrics(y, score)[metric] <= band.upper
    assert 0.9 <= inside / trials <= 0.99, (metric, inside / trials)


def test_degenerate_windows_give_nan_estimates() -> None:
    cbpe = identity()
    assert all(math.isnan(e.value) and math.isnan(e.lower) for e in cbpe.estimate(np.array([])).values())
    low = cbpe.estimate(np.array([0.1, 0.2, np.nan]))      # nothing predicted positive; NaN left out
    assert math.isnan(low["precision"].value)
    assert low["accuracy"].value == pytest.approx((0.9 + 0.8) / 2)
    zero = cbpe.estimate(np.array([0.0, 0.0]))             # no expected positive at all
    assert {m for m, e in zero.items() if math.isnan(e.value)} == {"precision", "recall", "f1", "roc_auc"}


def test_round_trip_through_json_gives_the_same_estimates() -> None:
    rng = np.random.default_rng(6)
    s = rng.uniform(size=3_000)
    cbpe = CBPE.fit(rng.uniform(size=s.size) < s ** 0.5, s, threshold=0.4, confidence=0.9)
    again = CBPE.from_dict(json.loads(json.dumps(cbpe.to_dict())))
    window = rng.uniform(size=500)
    assert again.estimate(window) == cbpe.estimate(window)
    assert (again.threshold, again.confidence, again.reference_rows) == (0.4, 0.9, 3_000)
    assert isinstance(next(iter(again.estimate(window).values())), Estimate)


def test_bad_states_and_references_raise_naming_the_problem() -> None:
    state = identity().to_dict()
    with pytest.raises(ConfigurationError, match=r"not a CBPE state: .*strictly increasing"):
        CBPE.from_dict({**state, "scores": [1.0, 0.0]})
    with pytest.raises(ConfigurationError, match=r"format"):
        CBPE.from_dict({**state, "format": "pickle"})
    with pytest.raises(ConfigurationError, match=r"3 rows and 3 positive outcomes"):
        CBPE.fit(np.array([1, 1, 1]), np.array([0.2, 0.5, 0.9]))
    with pytest.raises(ConfigurationError, match=r"1 non-finite"):
        CBPE.fit(np.array([0, 1]), np.array([0.2, np.nan]))
