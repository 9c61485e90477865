"""Per-window aggregation of the join, windows by prediction time.

A window keeps what its metrics need, compactly: the scores of its predictions (for the confidence-based
estimate, which needs no labels) and, per joined pair, score, label, prediction time and outcome time,
each in an ``array('d')`` (8 bytes a value, appended in O(1) per event, read by numpy without copying).
A window changed since its last evaluation is *dirty*; :meth:`WindowBook.evaluate_dirty` computes the
metrics of those only, vectorised over the window's pairs, so a late outcome within the TTL
re-evaluates its window.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from sidecar.join.tables import Entry

__all__ = ["WindowBook", "WindowResult"]


@dataclass
class _Window:
    predictions: int = 0
    expired: int = 0
    prediction_scores: array = field(default_factory=lambda: array("d"))
    score: array = field(default_factory=lambda: array("d"))
    label: array = field(default_factory=lambda: array("d"))
    prediction_time: array = field(default_factory=lambda: array("d"))
    outcome_time: array = field(default_factory=lambda: array("d"))


@dataclass(frozen=True)
class WindowResult:
    """The evaluation of one window.

    ``metrics`` are the realized metrics over the joined pairs (empty below ``min_pairs``), ``estimated``
    the confidence-based estimate over all the window's prediction scores (``{metric: Estimate}``; empty
    without a calibration), ``delays`` label-delay quantiles in seconds (``p50``, ``p90``, ``p99``).
    """

    start: datetime
    end: datetime
    predictions: int
    pairs: int
    expired: int
    coverage: float
    metrics: Mapping[str, float]
    delays: Mapping[str, float]
    estimated: Mapping[str, Any]


class WindowBook:
    """The windows of the join, by index ``floor(prediction time / window_seconds)``.

    Parameters
    ----------
    window_seconds : window length
    metrics : ``(y_true, y_score) -> {metric: value}`` for the task (classification or regression)
    estimator : an object with ``estimate(y_score) -> {metric: Estimate}`` (a fitted CBPE) or None
    min_pairs : windows with fewer joined pairs get no realized metrics
    """

    def __init__(self, window_seconds: float, metrics: Callable[[np.ndarray, np.ndarray], dict[str, float]],
                 estimator: Any | None = None, min_pairs: int = 1) -> None:
        self.window_seconds = window_seconds
        self.metrics = metrics
        self.estimator = estimator
        self.min_pairs = min_pairs
        self.windows: dict[int, _Window] = {}
        self.dirty: set[int] = set()

    def _index(self, when: float) -> int:
        return math.floor(when / self.window_seconds)

    def _window(self, when: float) -> _Window:
        index = self._index(when)
        self.dirty.add(index)
        window = self.windows.get(index)
        if window is None:
            window = self.windows[index] = _Window()
        return window

    def add_prediction(self, when: float, score: float) -> None:
        """Count a (first-seen) prediction in its window."""
        window = self._window(when)
        window.predictions += 1
        window.prediction_scores.append(score)

    def add_pair(self, pair: Entry) -> None:
        """Add a joined pair to the window of its prediction."""
        window = self._window(pair.prediction_time)
        window.score.append(pair.score)
        window.label.append(pair.label)
        window.prediction_time.append(pair.prediction_time)
        window.outcome_time.append(pair.outcome_time)

    def add_predictions(self, times: list[float], scores: list[float]) -> None:
        """:meth:`add_prediction` for many; one window's worth (the usual batch) extends its arrays at once."""
        window = self._only_window(times)
        if window is None:
            for when, score in zip(times, scores, strict=True):
                self.add_prediction(when, score)
            return
        window.predictions += len(times)
        window.prediction_scores.extend(scores)

    def add_pairs(self, prediction_times: list[float], scores: list[float], outcome_times: list[float],
                  labels: list[float]) -> None:
        """Add joined pairs, given field by field, each to the window of its prediction."""
        window = self._only_window(prediction_times)
        if window is None:
            for pt, score, ot, label in zip(prediction_times, scores, outcome_times, labels, strict=True):
                w = self._window(pt)
                w.score.append(score)
                w.label.append(label)
                w.prediction_time.append(pt)
                w.outcome_time.append(ot)
            return
        window.score.extend(scores)
        window.label.extend(labels)
        window.prediction_time.extend(prediction_times)
        window.outcome_time.extend(outcome_times)

    def _only_window(self, times: list[float]) -> _Window | None:
        """The window every one of ``times`` falls in, if they share one (marked dirty), else None."""
        if not times:
            return None
        index = self._index(times[0])
        if self._index(min(times)) != index or self._index(max(times)) != index:
            return None
        return self._window(times[0])

    def expire(self, prediction_time: float) -> None:
        """Count a prediction whose outcome never came within the TTL."""
        self._window(prediction_time).expired += 1

    def forget_before(self, when: float) -> None:
        """Drop windows that end before ``when`` (final: nothing can change them any more)."""
        last = self._index(when)
        for index in [i for i in self.windows if i < last and (i + 1) * self.window_seconds <= when]:
            del self.windows[index]
            self.dirty.discard(index)

    def evaluate(self, index: int) -> WindowResult:
        """The metrics of window ``index`` (which must exist)."""
        w = self.windows[index]
        pairs = len(w.score)
        metrics: dict[str, float] = {}
        delays: dict[str, float] = {}
        if pairs >= self.min_pairs:
            y_true = np.frombuffer(w.label, dtype=np.float64)
            y_score = np.frombuffer(w.score, dtype=np.float64)
            metrics = dict(self.metrics(y_true, y_score))
        if pairs:
            from sidecar.performance.realized import delay_quantiles

            delay = np.frombuffer(w.outcome_time, dtype=np.float64) - np.frombuffer(w.prediction_time, np.float64)
            delays = dict(delay_quantiles(delay))
        estimated: dict[str, Any] = {}
        if self.estimator is not None and w.predictions >= self.min_pairs:
            estimated = dict(self.estimator.estimate(np.frombuffer(w.prediction_scores, dtype=np.float64)))
        start = index * self.window_seconds
        return WindowResult(
            start=datetime.fromtimestamp(start, tz=UTC),
            end=datetime.fromtimestamp(start + self.window_seconds, tz=UTC),
            predictions=w.predictions, pairs=pairs, expired=w.expired,
            coverage=pairs / w.predictions if w.predictions else 0.0,
            metrics=metrics, delays=delays, estimated=estimated,
        )

    def evaluate_dirty(self) -> list[WindowResult]:
        """Evaluate every window changed since the last call, oldest first."""
        results = [self.evaluate(i) for i in sorted(self.dirty) if i in self.windows]
        self.dirty.clear()
        return results
