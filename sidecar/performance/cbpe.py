"""Confidence-based performance estimation (CBPE): a classifier's metrics before its outcomes arrive.

A calibrated probability *is* the chance that the row's outcome is positive. So from the scores of a window
alone, the expected confusion matrix follows: a row predicted positive with calibrated probability p adds p
to the expected true positives and 1 - p to the false positives; a row predicted negative adds p to the false
negatives and 1 - p to the true negatives. Accuracy, precision, recall and F1 are computed from that matrix,
as NannyML's CBPE does (``nannyml/performance_estimation/confidence_based/metrics.py``). The estimate stays
right under covariate shift (the inputs move, P(outcome | input) does not), which is when it is needed; it
cannot see concept drift that leaves the scores unchanged.

Calibration is learned once, from a reference window whose outcomes are known, by isotonic regression
(pool-adjacent-violators, :func:`scipy.optimize.isotonic_regression`, on the scores' distinct values
weighted by their counts) and applied by linear interpolation between the fitted blocks' end points, clipped
at the ends (scikit-learn's ``IsotonicRegression(out_of_bounds="clip")`` does the same).

ROC AUC is the expected number of correctly ordered (positive, negative) pairs over the expected number of
such pairs, each row positive with its calibrated probability and a tie counting one half; NannyML sums the
same cumulative expected positives along the ranking (its trapezoids), this leaves out a row paired with
itself, an O(1/n) difference.

The confidence band is sampling error: given the scores, each outcome is an independent Bernoulli with its
calibrated probability, so the realized metric scatters around the estimate. Accuracy and precision are
linear in those outcomes and their variance is exact (``sum p (1 - p) / n^2``, over the predicted positives
for precision); recall and F1 are ratios, their variance by the delta method; ROC AUC's is Hanley and
McNeil's (1982) with the expected class sizes. The band is ``estimate +- z * standard error`` for the
configured two-sided ``confidence`` (0.95: z = 1.96), clipped to [0, 1]. It does not include the error of
the calibration itself, which shrinks with the reference's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Every metric CBPE.estimate returns, in this order: defined with the SLA settings, which check against it.
from sidecar.config.sla import ESTIMATED_METRICS
from sidecar.errors import ConfigurationError
from sidecar.performance.realized import _binary, _pairs

__all__ = ["CBPE", "ESTIMATED_METRICS", "Estimate"]

#: ``to_dict()["format"]``; :meth:`CBPE.from_dict` accepts only this.
FORMAT = "cbpe/1"

_NAN = float("nan")


@dataclass(frozen=True)
class Estimate:
    """An estimated metric and its confidence band (all NaN when the window cannot say)."""

    value: float
    lower: float
    upper: float


class _State(BaseModel):
    """What a fitted :class:`CBPE` is, as JSON: the calibration map and the settings it was fitted with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = Field(pattern=f"^{FORMAT}$")
    threshold: float = Field(ge=0.0, le=1.0)
    confidence: float = Field(gt=0.0, lt=1.0)
    reference_rows: int = Field(ge=1)
    scores: list[float] = Field(min_length=1)
    probabilities: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _a_monotone_map(self) -> _State:
        if len(self.scores) != len(self.probabilities):
            raise ValueError(f"scores ({len(self.scores)}) and probabilities ({len(self.probabilities)}) differ "
                             "in length")
        s, p = np.asarray(self.scores), np.asarray(self.probabilities)
        if not (np.all(np.isfinite(s)) and np.all(np.diff(s) > 0)):
            raise ValueError("scores must be finite and strictly increasing")
        if not (np.all((p >= 0) & (p <= 1)) and np.all(np.diff(p) >= 0)):
            raise ValueError("probabilities must lie in [0, 1] and never decrease")
        return self


class CBPE:
    """Estimated accuracy, precision, recall, F1 and ROC AUC of a binary classifier from its scores alone.

    Build with :meth:`fit` on a reference window with outcomes; persist with :meth:`to_dict` (JSON-able,
    never pickled) and :meth:`from_dict`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=20_000); y = rng.uniform(size=p.size) < p     # a calibrated classifier
    >>> cbpe = CBPE.fit(y, p)
    >>> later = rng.beta(5, 1, size=2_000)                                   # inputs moved: confident now
    >>> est = cbpe.estimate(later)["accuracy"]
    >>> realized = float(np.mean((rng.uniform(size=later.size) < later) == (later >= 0.5)))  # outcomes, later
    >>> round(est.value, 2), est.lower < realized < est.upper
    (0.84, True)
    """

    def __init__(self, scores: np.ndarray, probabilities: np.ndarray, *, threshold: float = 0.5,
                 confidence: float = 0.95, reference_rows: int) -> None:
        self._state = _State(format=FORMAT, threshold=threshold, confidence=confidence,
                             reference_rows=reference_rows, scores=[float(x) for x in scores],
                             probabilities=[float(x) for x in probabilities])
        self._scores = np.asarray(self._state.scores, dtype=np.float64)
        self._probabilities = np.asarray(self._state.probabilities, dtype=np.float64)
        self.threshold = threshold
        self.confidence = confidence
        self.reference_rows = reference_rows
        self._z = NormalDist().inv_cdf(0.5 + confidence / 2.0)

    @classmethod
    def fit(cls, y_true: np.ndarray, y_score: np.ndarray, threshold: float = 0.5, *,
            confidence: float = 0.95) -> CBPE:
        """Learn the calibration from a reference window's outcomes and scores.

        Parameters
        ----------
        y_true
            Outcomes, 0/1 or booleans; both must occur.
        y_score
            The model's probability of the positive class, finite.
        threshold
            A row is predicted positive when its score is at least this (the model's own decision rule).
        confidence
            Two-sided coverage of the bands :meth:`estimate` returns.

        Raises
        ------
        ConfigurationError
            When the reference holds one class only, non-finite scores, or the two arrays differ in length.
        """
        positive = _binary(y_true)
        _, score = _pairs(positive, y_score, ("y_true", "y_score"))
        if not np.all(np.isfinite(score)):
            raise ConfigurationError(f"reference y_score holds {int((~np.isfinite(score)).sum())} non-finite "
                                     "values; CBPE needs a score for every reference row")
        n_pos = int(positive.sum())
        if n_pos == 0 or n_pos == positive.size:
            raise ConfigurationError(
                f"the reference has {positive.size} rows and {n_pos} positive outcomes; calibration needs both "
                "outcomes to occur")
        # Pool adjacent violators over the distinct scores (weighted by their counts), not the rows.
        distinct, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
        rate = np.bincount(inverse, weights=positive.astype(np.float64)) / counts
        # Lazily: scipy.optimize costs the sidecar's main process ~20 MB, and it only needs the names here.
        from scipy.optimize import isotonic_regression

        fitted = np.clip(isotonic_regression(rate, weights=counts.astype(np.float64)).x, 0.0, 1.0)
        # Inside a block the fit is flat, so only the blocks' first and last scores matter to interpolation.
        changes = np.flatnonzero(np.diff(fitted) != 0)
        keep = np.unique(np.concatenate(([0, distinct.size - 1], changes, changes + 1)))
        return cls(distinct[keep], fitted[keep], threshold=threshold, confidence=confidence,
                   reference_rows=int(positive.size))

    def calibrate(self, y_score: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of ``y_score`` (the reference's isotonic map, clipped at its ends)."""
        return np.interp(np.asarray(y_score, dtype=np.float64), self._scores, self._probabilities)

    def estimate(self, y_score: np.ndarray) -> dict[str, Estimate]:
        """Estimated metrics of a window from its scores alone.

        Parameters
        ----------
        y_score
            The window's probabilities of the positive class; non-finite scores are left out.

        Returns
        -------
        dict
            ``{metric: Estimate}`` for every name in :data:`ESTIMATED_METRICS`. A metric undefined for the
            window (no rows; precision with nothing predicted positive; recall, F1 or ROC AUC with no expected
            positive or negative) is an all-NaN :class:`Estimate`.
        """
        score = np.asarray(y_score, dtype=np.float64).ravel()
        score = score[np.isfinite(score)]
        n = score.size
        if n == 0:
            return {m: Estimate(_NAN, _NAN, _NAN) for m in ESTIMATED_METRICS}
        p = self.calibrate(score)
        predicted = score >= self.threshold
        spread = p * (1.0 - p)                           # variance of each row's Bernoulli outcome
        tp = float(p[predicted].sum())                   # A: expected positives among the predicted positive
        fn = float(p[~predicted].sum())                  # B: expected positives among the predicted negative
        n_pp = float(np.count_nonzero(predicted))       # TP + FP, known exactly
        tn = n - n_pp - fn
        var_a = float(spread[predicted].sum())
        var_b = float(spread[~predicted].sum())
        out = {"accuracy": self._band((tp + tn) / n, (var_a + var_b) / (n * n))}
        out["precision"] = self._band(tp / n_pp, var_a / (n_pp * n_pp)) if n_pp > 0 else _missing()
        positives = tp + fn
        if positives > 0:
            # R = A / (A + B): dR/dA = B / (A + B)^2, dR/dB = -A / (A + B)^2 (A and B independent).
            out["recall"] = self._band(tp / positives, (fn * fn * var_a + tp * tp * var_b) / positives ** 4)
            # F1 = 2A / (A + B + n_pp), since 2TP + FP + FN = TP + n_pp + FN.
            d = positives + n_pp
            out["f1"] = self._band(2.0 * tp / d, 4.0 * ((fn + n_pp) ** 2 * var_a + tp * tp * var_b) / d ** 4)
        else:
            out["recall"] = out["f1"] = _missing()
        out["roc_auc"] = self._roc_auc(score, p)
        return {m: out[m] for m in ESTIMATED_METRICS}

    def _roc_auc(self, score: np.ndarray, p: np.ndarray) -> Estimate:
        # Expected (positive, negative) pairs ordered correctly, over expected pairs, i != j throughout.
        _, group = np.unique(score, return_inverse=True)
        pos = np.bincount(group, weights=p)
        neg = np.bincount(group, weights=1.0 - p)
        self_pairs = np.bincount(group, weights=p * (1.0 - p))
        below = np.cumsum(neg) - neg                     # expected negatives scored strictly lower
        concordant = float(np.sum(pos * below) + 0.5 * np.sum(pos * neg - self_pairs))
        pairs = float(pos.sum() * neg.sum() - self_pairs.sum())
        if pairs <= 0:
            return _missing()
        auc = concordant / pairs
        # Hanley & McNeil (1982) with the expected class sizes.
        n1, n0 = float(pos.sum()), float(neg.sum())
        q1, q2 = auc / (2.0 - auc), 2.0 * auc * auc / (1.0 + auc)
        var = (auc * (1 - auc) + max(n1 - 1, 0.0) * (q1 - auc * auc) + max(n0 - 1, 0.0) * (q2 - auc * auc)) / (n1 * n0)
        return self._band(auc, var)

    def _band(self, value: float, variance: float) -> Estimate:
        half = self._z * math.sqrt(max(variance, 0.0))
        return Estimate(value, max(0.0, value - half), min(1.0, value + half))

    def to_dict(self) -> dict[str, Any]:
        """The fitted state as a JSON-able dict (format ``"cbpe/1"``)."""
        return self._state.model_dump()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CBPE:
        """Rebuild from :meth:`to_dict`'s output.

        Raises
        ------
        ConfigurationError
            Naming the key, when ``d`` is not a valid state.
        """
        try:
            state = _State.model_validate(d)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
            raise ConfigurationError(f"not a CBPE state: {problems}") from exc
        return cls(np.asarray(state.scores), np.asarray(state.probabilities), threshold=state.threshold,
                   confidence=state.confidence, reference_rows=state.reference_rows)

    def __repr__(self) -> str:
        return (f"CBPE(threshold={self.threshold}, confidence={self.confidence}, "
                f"reference_rows={self.reference_rows}, calibration_points={self._scores.size})")


def _missing() -> Estimate:
    return Estimate(_NAN, _NAN, _NAN)
