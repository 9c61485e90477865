"""The join logic: predictions and outcomes meet in the pair table by request id.

Each arriving half looks up its request id once: an empty slot makes it wait, the other half waiting
makes a pair, and anything else is a duplicate delivery (counted, never joined twice: the join is
idempotent by request id). :meth:`Joiner.sweep` expires predictions and outcomes that waited longer
than the TTL and forgets pairs whose window can no longer change; every write files its key under its
deadline in an :class:`~sidecar.join.expiry.ExpiryIndex`, so a sweep reads only the entries that fell due
(and at most ``limit`` of them at a time) instead of the whole table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sidecar.join.expiry import ExpiryIndex
from sidecar.join.tables import Entry, PairStore, State, decode_entry, encode_entry
from sidecar.join.windows import WindowBook

__all__ = ["JOIN_EVENTS", "Joiner", "SweepResult"]

#: Names of the join's event counts (``model_health_join_events_total{event}``).
JOIN_EVENTS = ("prediction", "outcome", "joined", "duplicate_prediction", "duplicate_outcome", "expired",
               "orphaned", "invalid")

_NAN = float("nan")


@dataclass
class SweepResult:
    """What one sweep removed."""

    expired: int = 0
    orphaned: int = 0
    forgotten: int = 0
    pending_predictions: int = 0
    pending_outcomes: int = 0
    #: the sweep stopped at its ``limit`` with more due
    more: bool = False


@dataclass
class Joiner:
    """Joins halves arriving one at a time against ``store``, folding pairs into ``book``.

    Parameters
    ----------
    store : the pair table
    book : per-window aggregation (counts of predictions, joined pairs, expired predictions)
    ttl_seconds : how long either half waits for the other
    """

    store: PairStore
    book: WindowBook
    ttl_seconds: float
    counts: Counter[str] = field(default_factory=Counter)
    index: ExpiryIndex = field(default_factory=ExpiryIndex)
    pending_predictions: int = 0
    pending_outcomes: int = 0

    def deadline(self, entry: Entry) -> float:
        """When the sweep removes ``entry``: a waiting half after the TTL, a pair once its window is final."""
        if entry.state is State.PREDICTION:
            return entry.prediction_time + self.ttl_seconds
        if entry.state is State.OUTCOME:
            return entry.outcome_time + self.ttl_seconds
        return entry.prediction_time + self.ttl_seconds + self.book.window_seconds

    def _put(self, request_id: bytes, entry: Entry) -> None:
        """Write ``entry`` and file it in the expiry index under its deadline (one place for both)."""
        self.store.set(request_id, encode_entry(entry), entry.partition)
        self.index.add(request_id, self.deadline(entry))

    def prediction(self, request_id: bytes, when: float, score: float, partition: int) -> bool:
        """A prediction arrived; returns True when it completed a pair."""
        self.counts["prediction"] += 1
        raw = self.store.get(request_id, partition)
        if raw is None:
            self._put(request_id, Entry(State.PREDICTION, partition, when, score, _NAN, _NAN))
            self.pending_predictions += 1
            self.book.add_prediction(when, score)
            return False
        entry = decode_entry(raw)
        if entry.state is not State.OUTCOME:
            self.counts["duplicate_prediction"] += 1
            return False
        pair = Entry(State.JOINED, partition, when, score, entry.outcome_time, entry.label)
        self._put(request_id, pair)
        self.pending_outcomes -= 1
        self.book.add_prediction(when, score)
        self.book.add_pair(pair)
        self.counts["joined"] += 1
        return True

    def outcome(self, request_id: bytes, when: float, label: float, partition: int) -> bool:
        """An outcome arrived; returns True when it completed a pair."""
        self.counts["outcome"] += 1
        raw = self.store.get(request_id, partition)
        if raw is None:
            self._put(request_id, Entry(State.OUTCOME, partition, _NAN, _NAN, when, label))
            self.pending_outcomes += 1
            return False
        entry = decode_entry(raw)
        if entry.state is State.PREDICTION:
            pair = Entry(State.JOINED, partition, entry.prediction_time, entry.score, when, label)
            self._put(request_id, pair)
            self.pending_predictions -= 1
            self.book.add_pair(pair)
            self.counts["joined"] += 1
            return True
        self.counts["duplicate_outcome"] += 1
        return False

    def sweep(self, now: float, limit: int | None = None) -> SweepResult:
        """Expire halves older than the TTL at ``now`` and forget entries of windows that are final.

        An expired prediction is counted (in its window too, lowering coverage) and removed; an outcome
        arriving for it later waits like one for an unknown id and is counted orphaned when its own TTL
        passes. Joined pairs stay until their window is final (prediction time older than TTL plus one
        window): until then a duplicate outcome is recognised and the window can be re-evaluated.
        Only entries filed in the expiry index under a passed deadline are read, at most ``limit``
        (``result.more`` says whether more are due: call again).
        """
        result = SweepResult()
        keys, result.more = self.index.due(now, limit)
        for key in keys:
            raw = self.store.get(key)
            if raw is None:
                continue  # removed since it was filed
            entry = decode_entry(raw)
            if self.deadline(entry) >= now:
                continue  # changed since it was filed (a half that joined): filed again under its new deadline
            self.store.delete(key, entry.partition)
            if entry.state is State.PREDICTION:
                self.book.expire(entry.prediction_time)
                result.expired += 1
            elif entry.state is State.OUTCOME:
                result.orphaned += 1
            else:
                result.forgotten += 1
        self.pending_predictions -= result.expired
        self.pending_outcomes -= result.orphaned
        result.pending_predictions, result.pending_outcomes = self.pending_predictions, self.pending_outcomes
        self.counts["expired"] += result.expired
        self.counts["orphaned"] += result.orphaned
        self.book.forget_before(now - self.ttl_seconds - self.book.window_seconds)
        return result

    def rebuild(self) -> int:
        """Refill the book, the expiry index and the pending counts from the store (after recovery);
        returns the entries read."""
        self.index.clear()
        self.pending_predictions = self.pending_outcomes = 0
        n = 0
        for key, raw in self.store.items():
            entry = decode_entry(raw)
            n += 1
            self.index.add(key, self.deadline(entry))
            if entry.state is State.OUTCOME:
                self.pending_outcomes += 1
                continue
            self.book.add_prediction(entry.prediction_time, entry.score)
            if entry.state is State.JOINED:
                self.book.add_pair(entry)
            else:
                self.pending_predictions += 1
        return n
