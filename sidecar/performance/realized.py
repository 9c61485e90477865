"""Realized production metrics of one window of joined (prediction, outcome) pairs, vectorised with numpy.

Classification is binary: ``y_true`` holds 0/1 (or booleans) and ``y_score`` the predicted probability of the
positive class; a row is *predicted positive* when ``y_score >= threshold``. Every metric equals
scikit-learn's on the same pairs (the tests compare within 1e-9); scikit-learn itself is a test-only
dependency, so the formulas live here:

========================  =====================================================================================
``accuracy``              share of rows whose predicted class is the outcome
``precision``             TP / (TP + FP); NaN when nothing is predicted positive
``recall``                TP / (TP + FN); NaN when no outcome is positive
``f1``                    2 TP / (2 TP + FP + FN); NaN when there is no positive in either (scikit-learn with
                          ``zero_division=np.nan``; its default 0.0 hides the fact that nothing was measured)
``roc_auc``               Mann-Whitney U over average ranks (ties count one half, as scikit-learn's
                          trapezoids over distinct thresholds do); NaN unless both classes occur
``log_loss``              mean of -ln(p) over the probability given to the outcome, each probability clipped
                          to [eps, 1 - eps] with eps = ``np.finfo(float64).eps`` (2.2e-16) *after* forming
                          1 - p, as scikit-learn >= 1.5 does (the ``eps=`` argument is gone since 1.7); a
                          confident miss therefore costs ln(1/eps) = 36.04, not infinity. Defined with one class.
``brier``                 mean of (p - y)^2 (scikit-learn's ``brier_score_loss``)
``positive_rate``         share of rows predicted positive
``ece``                   expected calibration error over 10 equal-width bins of ``y_score`` ([0, 0.1), ...,
                          [0.9, 1.0], 1.0 in the last): sum over bins of (rows in bin / rows) *
                          |mean outcome - mean score|
========================  =====================================================================================

Regression: ``mae``, ``rmse``, ``mape`` (scikit-learn's ``mean_absolute_percentage_error``: mean of
|y - yhat| / max(|y|, eps) with the same float64 eps, so a zero outcome gives a huge but finite term) and
``bias`` (mean of prediction - outcome; positive means the model over-predicts).

An empty window gives NaN for every metric; nothing here raises on a degenerate window. Inputs of different
lengths, or outcomes other than 0/1 for classification, are a caller's mistake and raise
:class:`~sidecar.errors.ConfigurationError` (a ``ValueError``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sidecar.errors import ConfigurationError

__all__ = [
    "CLASSIFICATION_METRICS",
    "ECE_BINS",
    "REGRESSION_METRICS",
    "classification_metrics",
    "delay_quantiles",
    "regression_metrics",
    "roc_auc",
]

#: Every metric :func:`classification_metrics` returns, in this order.
CLASSIFICATION_METRICS: tuple[str, ...] = (
    "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier", "positive_rate", "ece",
)
#: Every metric :func:`regression_metrics` returns, in this order.
REGRESSION_METRICS: tuple[str, ...] = ("mae", "rmse", "mape", "bias")
#: Equal-width bins of the expected calibration error.
ECE_BINS = 10

_EPS = float(np.finfo(np.float64).eps)
_NAN = float("nan")


def _pairs(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ConfigurationError(f"{names[0]} has {x.size} values and {names[1]} {y.size}; they must be pairs")
    return x, y


def _binary(y_true: np.ndarray) -> np.ndarray:
    y = np.asarray(y_true)
    if y.dtype == np.bool_:
        return y.ravel()
    values = np.asarray(y, dtype=np.float64).ravel()
    wrong = (values != 0) & (values != 1)
    if wrong.any():
        raise ConfigurationError(
            f"y_true must hold binary outcomes 0/1 (or booleans); found {float(values[wrong][0])!r} "
            f"({int(wrong.sum())} of {values.size} values are neither)")
    return values == 1


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the ROC curve from ranks: ``(R+ - n+ (n+ + 1) / 2) / (n+ n-)`` with average ranks for ties.

    Equal to scikit-learn's ``roc_auc_score`` (whose trapezoids over distinct thresholds give a tied
    positive/negative pair one half); NaN unless both classes occur.

    Examples
    --------
    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    >>> roc_auc(np.array([1, 1]), np.array([0.1, 0.4]))
    nan
    """
    positive = _binary(y_true)
    score = np.asarray(y_score, dtype=np.float64).ravel()
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return _NAN
    # Average ranks (1-based) through the sorted unique values: tied scores share the mean of their ranks.
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts, dtype=np.float64)
    average_rank = upper - (counts - 1) / 2.0
    rank_sum = float(average_rank[inverse][positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else _NAN


def _ece(positive: np.ndarray, score: np.ndarray) -> float:
    # Bin i holds [i/10, (i+1)/10); a score of exactly 1.0 belongs to the last bin, not an eleventh.
    bins = np.clip(np.floor(score * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1)
    rows = np.bincount(bins, minlength=ECE_BINS).astype(np.float64)
    outcomes = np.bincount(bins, weights=positive.astype(np.float64), minlength=ECE_BINS)
    scores = np.bincount(bins, weights=score, minlength=ECE_BINS)
    # sum_b n_b / n * |mean_y_b - mean_p_b| = sum_b |sum_y_b - sum_p_b| / n (empty bins add 0).
    return float(np.abs(outcomes - scores).sum() / rows.sum())


def classification_metrics(y_true: np.ndarray, y_score: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Every metric of :data:`CLASSIFICATION_METRICS` for binary outcomes and positive-class probabilities.

    Parameters
    ----------
    y_true
        Outcomes, 0/1 or booleans.
    y_score
        Predicted probability of the positive class, in [0, 1].
    threshold
        A row is predicted positive when ``y_score >= threshold``.

    Returns
    -------
    dict
        ``{metric: value}`` in the order of :data:`CLASSIFICATION_METRICS`; NaN where a metric is undefined
        in the window (see the module docstring), every metric NaN for an empty window.

    Examples
    --------
    >>> m = classification_metrics(np.array([0, 1, 1, 0]), np.array([0.2, 0.9, 0.4, 0.6]))
    >>> m["accuracy"], m["precision"], m["recall"], m["roc_auc"], round(m["brier"], 4)
    (0.5, 0.5, 0.5, 0.75, 0.1925)
    """
    positive = _binary(y_true)
    _, score = _pairs(positive, y_score, ("y_true", "y_score"))
    n = positive.size
    if n == 0:
        return dict.fromkeys(CLASSIFICATION_METRICS, _NAN)
    predicted = score >= threshold
    tp = float(np.count_nonzero(predicted & positive))
    fp = float(np.count_nonzero(predicted & ~positive))
    fn = float(np.count_nonzero(~predicted & positive))
    tn = n - tp - fp - fn
    y = positive.astype(np.float64)
    # Clip after forming the probability of the outcome (1 - p for a negative), as scikit-learn does.
    p_outcome = np.clip(np.where(positive, score, 1.0 - score), _EPS, 1.0 - _EPS)
    return {
        "accuracy": (tp + tn) / n,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2.0 * tp, 2.0 * tp + fp + fn),
        "roc_auc": roc_auc(positive, score),
        "log_loss": float(-np.log(p_outcome).mean()),
        "brier": float(np.mean((score - y) ** 2)),
        "positive_rate": (tp + fp) / n,
        "ece": _ece(positive, score),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Every metric of :data:`REGRESSION_METRICS`: MAE, RMSE, MAPE (scikit-learn's) and bias.

    Parameters
    ----------
    y_true
        Outcomes.
    y_pred
        Predictions.

    Returns
    -------
    dict
        ``{metric: value}``; every metric NaN for an empty window.

    Examples
    --------
    >>> regression_metrics(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0]))
    {'mae': 1.0, 'rmse': 1.2909944487358056, 'mape': 0.5, 'bias': -0.3333333333333333}
    """
    truth, pred = _pairs(y_true, y_pred, ("y_true", "y_pred"))
    if truth.size == 0:
        return dict.fromkeys(REGRESSION_METRICS, _NAN)
    error = pred - truth
    absolute = np.abs(error)
    return {
        "mae": float(absolute.mean()),
        "rmse": float(np.sqrt(np.mean(error * error))),
        "mape": float(np.mean(absolute / np.maximum(np.abs(truth), _EPS))),
        "bias": float(error.mean()),
    }


def delay_quantiles(delays_seconds: np.ndarray, qs: Sequence[float] = (0.5, 0.9, 0.99)) -> dict[str, float]:
    """Quantiles of label delays (outcome time - prediction time), keyed ``"p50"``, ``"p90"``, ``"p99"``.

    Linear interpolation between order statistics (numpy's default); NaN values are ignored; every quantile
    is NaN when there is no delay.

    Examples
    --------
    >>> delay_quantiles(np.array([10.0, 20.0, 30.0, 40.0, 50.0]), qs=(0.5, 0.9, 0.999))
    {'p50': 30.0, 'p90': 46.0, 'p99.9': 49.96}
    """
    keys = [f"p{round(100.0 * q, 6):g}" for q in qs]
    values = np.asarray(delays_seconds, dtype=np.float64).ravel()
    values = values[~np.isnan(values)]
    if values.size == 0:
        return dict.fromkeys(keys, _NAN)
    return {k: float(v) for k, v in zip(keys, np.quantile(values, np.asarray(qs, dtype=np.float64)), strict=True)}
