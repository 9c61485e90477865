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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sidecar.join.expiry import ExpiryIndex
from sidecar.join.tables import Entry, PairStore, State, decode_entry, encode_entry
from sidecar.join.windows import WindowBook

__all__ = ["JOIN_EVENTS", "Half", "Joiner", "SweepResult"]

#: Names of the join's event counts (``model_health_join_events_total{event}``).
JOIN_EVENTS = ("prediction", "outcome", "joined", "duplicate_prediction", "duplicate_outcome", "expired",
               "orphaned", "invalid")

_NAN = float("nan")


@dataclass(frozen=True, slots=True)
class Half:
    """One decoded half of a pair: request id, time (epoch seconds) and score or label."""

    request_id: bytes
    time: float
    value: float


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
        """Write ``entry`` and file it in the expiry index under its deadline (the sweep's one write path)."""
        self.store.set(request_id, encode_entry(entry), entry.partition)
        self.index.add(request_id, self.deadline(entry))

    def prediction(self, request_id: bytes, when: float, score: float, partition: int) -> bool:
        """A prediction arrived; returns True when it completed a pair."""
        return self.predictions([Half(request_id, when, score)], partition) == 1

    def outcome(self, request_id: bytes, when: float, label: float, partition: int) -> bool:
        """An outcome arrived; returns True when it completed a pair."""
        return self.outcomes([Half(request_id, when, label)], partition) == 1

    def predictions(self, halves: Sequence[Half], partition: int) -> int:
        """Predictions of one partition arrived, in this order; returns how many completed a pair.

        The batch's entries are read at once and written at once; a request id seen twice in the batch
        reads what the batch wrote for it before, so the result is that of arriving one by one.
        """
        return self._arrive(halves, partition, self._prediction)

    def outcomes(self, halves: Sequence[Half], partition: int) -> int:
        """Outcomes of one partition arrived, in this order; returns how many completed a pair."""
        return self._arrive(halves, partition, self._outcome)

    def _arrive(self, halves: Sequence[Half], partition: int,
                one: Callable[[Half, bytes | None, int], Entry | None]) -> int:
        found = self.store.get_many([h.request_id for h in halves], partition)
        written: dict[bytes, bytes] = {}
        index_add, deadline = self.index.add, self.deadline
        joined = self.counts["joined"]
        for half, raw in zip(halves, found, strict=True):
            key = half.request_id
            entry = one(half, written.get(key, raw), partition)
            if entry is not None:
                written[key] = encode_entry(entry)  # the last write of a key wins, as in the store
                index_add(key, deadline(entry))
        self.store.set_many(list(written.items()), partition)
        return self.counts["joined"] - joined

    def _prediction(self, half: Half, raw: bytes | None, partition: int) -> Entry | None:
        """The entry a prediction leaves (None: unchanged, a duplicate), counted and folded into the book."""
        self.counts["prediction"] += 1
        if raw is None:
            self.pending_predictions += 1
            self.book.add_prediction(half.time, half.value)
            return Entry(State.PREDICTION, partition, half.time, half.value, _NAN, _NAN)
        entry = decode_entry(raw)
        if entry.state is not State.OUTCOME:
            self.counts["duplicate_prediction"] += 1
            return None
        pair = Entry(State.JOINED, partition, half.time, half.value, entry.outcome_time, entry.label)
        self.pending_outcomes -= 1
        self.book.add_prediction(half.time, half.value)
        self.book.add_pair(pair)
        self.counts["joined"] += 1
        return pair

    def _outcome(self, half: Half, raw: bytes | None, partition: int) -> Entry | None:
        """The entry an outcome leaves (None: unchanged, a duplicate), counted and folded into the book."""
        self.counts["outcome"] += 1
        if raw is None:
            self.pending_outcomes += 1
            return Entry(State.OUTCOME, partition, _NAN, _NAN, half.time, half.value)
        entry = decode_entry(raw)
        if entry.state is State.PREDICTION:
            pair = Entry(State.JOINED, partition, entry.prediction_time, entry.score, half.time, half.value)
            self.pending_predictions -= 1
            self.book.add_pair(pair)
            self.counts["joined"] += 1
            return pair
        self.counts["duplicate_outcome"] += 1
        return None

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
