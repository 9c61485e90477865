"""The join logic without faust: entries, the joiner against a dict, the windows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sidecar.config import JoinSettings
from sidecar.join.joiner import Joiner
from sidecar.join.records import OutcomeReader, PredictionReader, label_value
from sidecar.join.tables import DictPairStore, Entry, State, decode_entry, encode_entry
from sidecar.join.windows import WindowBook
from sidecar.performance.realized import classification_metrics, regression_metrics

T0 = 1_800_000_000.0


def make(ttl: float = 100.0, window: float = 60.0, min_pairs: int = 1) -> Joiner:
    book = WindowBook(window, lambda y, s: classification_metrics(y, s, 0.5), None, min_pairs)
    return Joiner(DictPairStore(), book, ttl)


def test_entries_round_trip_and_stay_small() -> None:
    waiting = Entry(State.PREDICTION, 3, T0, 0.25, math.nan, math.nan)
    raw = encode_entry(waiting)
    assert len(raw) == 19
    back = decode_entry(raw)
    assert (back.state, back.partition, back.prediction_time, back.score) == (State.PREDICTION, 3, T0, 0.25)
    outcome = decode_entry(encode_entry(Entry(State.OUTCOME, 1, math.nan, math.nan, T0 + 5, 1.0)))
    assert (outcome.state, outcome.outcome_time, outcome.label) == (State.OUTCOME, T0 + 5, 1.0)
    pair = Entry(State.JOINED, 0, T0, 0.5, T0 + 9, 0.0)
    assert len(encode_entry(pair)) == 35 and decode_entry(encode_entry(pair)) == pair


def test_prediction_then_outcome_joins_once() -> None:
    j = make()
    assert j.prediction(b"r1", T0, 0.9, 0) is False
    assert j.outcome(b"r1", T0 + 10, 1.0, 0) is True
    assert j.outcome(b"r1", T0 + 11, 1.0, 0) is False  # a duplicate delivery
    assert j.prediction(b"r1", T0, 0.9, 0) is False
    assert (j.counts["joined"], j.counts["duplicate_outcome"], j.counts["duplicate_prediction"]) == (1, 1, 1)
    (result,) = j.book.evaluate_dirty()
    assert (result.predictions, result.pairs, result.coverage) == (1, 1, 1.0)
    assert result.delays["p50"] == pytest.approx(10.0)


def test_outcome_first_waits_for_its_prediction() -> None:
    j = make()
    assert j.outcome(b"r2", T0 + 3, 0.0, 0) is False
    assert decode_entry(j.store.data[b"r2"]).state is State.OUTCOME
    assert j.prediction(b"r2", T0, 0.2, 0) is True
    assert decode_entry(j.store.data[b"r2"]).state is State.JOINED
    assert j.counts["joined"] == 1


def test_sweep_expires_predictions_and_orphans_outcomes() -> None:
    j = make(ttl=100.0, window=60.0)
    j.prediction(b"p", T0, 0.7, 0)
    j.outcome(b"unknown", T0, 1.0, 0)
    j.prediction(b"q", T0, 0.1, 0)
    j.outcome(b"q", T0 + 1, 0.0, 0)
    early = j.sweep(T0 + 50)
    assert (early.expired, early.orphaned, early.pending_predictions, early.pending_outcomes) == (0, 0, 1, 1)
    late = j.sweep(T0 + 101)
    assert (late.expired, late.orphaned) == (1, 1)
    assert set(j.store.data) == {b"q"}  # the pair stays while its window can still change
    assert (j.counts["expired"], j.counts["orphaned"]) == (1, 1)
    result = j.book.evaluate(math.floor(T0 / 60.0))
    assert (result.predictions, result.pairs, result.expired, result.coverage) == (2, 1, 1, 0.5)
    # An outcome for the expired prediction waits like one for an unknown id, then is orphaned.
    assert j.outcome(b"p", T0 + 102, 1.0, 0) is False
    final = j.sweep(T0 + 1000)
    assert final.orphaned == 1 and final.forgotten == 1 and j.store.data == {}
    assert j.book.windows == {}


def test_window_metrics_are_the_performance_functions_of_its_pairs() -> None:
    rng = np.random.default_rng(1)
    j = make(window=3600.0)
    scores = rng.random(500)
    labels = (rng.random(500) < scores).astype(float)
    for i, (s, y) in enumerate(zip(scores, labels, strict=True)):
        j.prediction(f"r{i}".encode(), T0 + i, float(s), 0)
        if i % 5:  # a fifth never gets an outcome
            j.outcome(f"r{i}".encode(), T0 + i + 30 + i % 7, float(y), 0)
    (result,) = j.book.evaluate_dirty()
    joined = np.arange(500) % 5 != 0
    expected = classification_metrics(labels[joined], scores[joined], 0.5)
    assert result.metrics.keys() == expected.keys()
    for name, value in expected.items():
        assert result.metrics[name] == pytest.approx(value, abs=1e-12, nan_ok=True)
    assert result.coverage == pytest.approx(400 / 500)
    # A late outcome within the TTL re-evaluates the window.
    j.outcome(b"r0", T0 + 999, float(labels[0]), 0)
    (again,) = j.book.evaluate_dirty()
    assert again.pairs == 401 and again.coverage == pytest.approx(401 / 500)


def test_regression_window_and_rebuild_from_the_table() -> None:
    book = WindowBook(60.0, regression_metrics, None, 1)
    j = Joiner(DictPairStore(), book, 100.0)
    for i, (pred, true) in enumerate([(1.0, 2.0), (3.0, 3.0), (5.0, 4.0)]):
        j.prediction(f"r{i}".encode(), T0 + i, pred, 0)
        j.outcome(f"r{i}".encode(), T0 + 10, true, 0)
    j.prediction(b"waiting", T0 + 5, 7.0, 0)
    (result,) = book.evaluate_dirty()
    assert result.metrics["mae"] == pytest.approx(2 / 3) and result.metrics["bias"] == pytest.approx(0.0)
    fresh = WindowBook(60.0, regression_metrics, None, 1)
    assert Joiner(j.store, fresh, 100.0).rebuild() == 4
    (rebuilt,) = fresh.evaluate_dirty()
    assert (rebuilt.predictions, rebuilt.pairs, dict(rebuilt.metrics)) == (4, 3, dict(result.metrics))


def test_min_pairs_withholds_realized_metrics() -> None:
    j = make(min_pairs=3)
    j.prediction(b"a", T0, 0.9, 0)
    j.outcome(b"a", T0 + 1, 1.0, 0)
    (result,) = j.book.evaluate_dirty()
    assert result.metrics == {} and result.pairs == 1


def test_readers_decode_every_format_and_the_key_fallback() -> None:
    s = JoinSettings(format="auto")
    (half,) = PredictionReader(s).read(b'{"request_id": "a", "timestamp": 1800000000, "values": {"score": 0.7}}')
    assert (half.request_id, half.time, half.value) == (b"a", T0, 0.7)
    halves = PredictionReader(s).read(
        b'{"request_id": "b", "timestamp": 1800000000, "columns": {"score": [0.1, 0.2]}}')
    assert [h.value for h in halves] == [0.1, 0.2]
    (out,) = OutcomeReader(s).read(b'{"label": true}', key=b"k", timestamp=T0 + 1)
    assert (out.request_id, out.time, out.value) == (b"k", T0 + 1, 1.0)
    assert OutcomeReader(s).read(b"not json", key=b"k", timestamp=T0) is None
    assert OutcomeReader(s).read(b'{"request_id": "x", "label": "maybe"}', timestamp=T0) is None
    assert label_value("0") == 0.0 and math.isnan(label_value(None))
