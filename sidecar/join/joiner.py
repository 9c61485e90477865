"""The join logic: predictions and outcomes meet in the pair table by request id.

Each arriving half looks up its request id once: an empty slot makes it wait, the other half waiting
makes a pair, and anything else is a duplicate delivery (counted, never joined twice: the join is
idempotent by request id). Halves arrive in batches of one partition (:meth:`Joiner.predictions`,
:meth:`Joiner.outcomes`): the batch's entries are read with one multi-get and written with one store write,
and the window book, the expiry index and the counts are updated once per batch; the result is that of
arriving one by one. :meth:`Joiner.sweep` expires predictions and outcomes that waited longer
than the TTL and forgets pairs whose window can no longer change; every write files its key under its
deadline in an :class:`~sidecar.join.expiry.ExpiryIndex`, so a sweep reads only the entries that fell due
(and at most ``limit`` of them at a time) instead of the whole table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sidecar.join.expiry import ExpiryIndex
from sidecar.join.tables import Entry, PairStore, State, decode_entry, pack_half, pack_pair, unpack_half
from sidecar.join.windows import WindowBook

__all__ = ["JOIN_EVENTS", "Half", "Joiner", "SweepResult"]

#: Names of the join's event counts (``model_health_join_events_total{event}``).
JOIN_EVENTS = ("prediction", "outcome", "joined", "duplicate_prediction", "duplicate_outcome", "expired",
               "orphaned", "invalid")


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

    def prediction(self, request_id: bytes, when: float, score: float, partition: int) -> bool:
        """A prediction arrived; returns True when it completed a pair."""
        return self.predictions([Half(request_id, when, score)], partition) == 1

    def outcome(self, request_id: bytes, when: float, label: float, partition: int) -> bool:
        """An outcome arrived; returns True when it completed a pair."""
        return self.outcomes([Half(request_id, when, label)], partition) == 1

    def predictions(self, halves: Sequence[Half], partition: int) -> int:
        """Predictions of one partition arrived, in this order; returns how many completed a pair.

        The batch's entries are read at once and written at once (the last write of each key); a request
        id seen twice in the batch reads what the batch wrote for it before, so the outcome is that of
        arriving one by one. The book, the expiry index and the counts are updated once per batch.
        """
        batch = _Batch(self, partition)
        written = batch.written
        times: list[float] = []
        scores: list[float] = []
        for half, raw in batch.read(halves):
            key, when, score = half.request_id, half.time, half.value
            prior = written.get(key, raw)  # a key seen before in this batch: what the batch wrote
            if prior is None:  # the first half: it waits
                batch.wait(key, pack_half(State.PREDICTION, partition, when, score), when)
            else:
                waiting = unpack_half(prior)
                if waiting is None or waiting[0] != State.OUTCOME:
                    continue  # a duplicate: counted below, nothing written
                _state, outcome_time, label = waiting
                batch.pair(key, when, score, outcome_time, label)
            times.append(when)
            scores.append(score)
        self.book.add_predictions(times, scores)
        joined = batch.finish()
        self.pending_predictions += len(times) - joined
        self.pending_outcomes -= joined
        self._count(prediction=len(halves), duplicate_prediction=len(halves) - len(times), joined=joined)
        return joined

    def outcomes(self, halves: Sequence[Half], partition: int) -> int:
        """Outcomes of one partition arrived, in this order; returns how many completed a pair (as
        :meth:`predictions`)."""
        batch = _Batch(self, partition)
        written = batch.written
        waiting_outcomes = 0
        for half, raw in batch.read(halves):
            key, when, label = half.request_id, half.time, half.value
            prior = written.get(key, raw)
            if prior is None:  # the first half: it waits
                batch.wait(key, pack_half(State.OUTCOME, partition, when, label), when)
                waiting_outcomes += 1
                continue
            waiting = unpack_half(prior)
            if waiting is None or waiting[0] != State.PREDICTION:
                continue  # a duplicate
            _state, prediction_time, score = waiting
            batch.pair(key, prediction_time, score, when, label)
        joined = batch.finish()
        self.pending_outcomes += waiting_outcomes
        self.pending_predictions -= joined
        self._count(outcome=len(halves), duplicate_outcome=len(halves) - waiting_outcomes - joined, joined=joined)
        return joined

    def _count(self, **counts: int) -> None:
        for event, n in counts.items():
            if n:
                self.counts[event] += n

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


class _Batch:
    """One batch of halves of one partition: what it reads, writes and joins, applied by :meth:`finish`."""

    def __init__(self, joiner: Joiner, partition: int) -> None:
        self.joiner = joiner
        self.partition = partition
        self.written: dict[bytes, bytes] = {}
        self.deadlines: dict[bytes, float] = {}
        self.pair_times: list[float] = []
        self.pair_scores: list[float] = []
        self.outcome_times: list[float] = []
        self.labels: list[float] = []

    def read(self, halves: Sequence[Half]) -> Iterable[tuple[Half, bytes | None]]:
        """Each half with its key's stored entry (one multi-get); the caller prefers ``written`` for a key
        the batch has written already."""
        found = self.joiner.store.get_many([h.request_id for h in halves], self.partition)
        return zip(halves, found, strict=True)

    def wait(self, key: bytes, packed: bytes, when: float) -> None:
        """The first half of ``key`` (arrived at ``when``) waits for the other."""
        self.written[key] = packed
        self.deadlines[key] = when + self.joiner.ttl_seconds

    def pair(self, key: bytes, prediction_time: float, score: float, outcome_time: float, label: float) -> None:
        """Both halves of ``key`` are here: a pair, kept until its window is final."""
        joiner = self.joiner
        self.written[key] = pack_pair(self.partition, prediction_time, score, outcome_time, label)
        self.deadlines[key] = prediction_time + joiner.ttl_seconds + joiner.book.window_seconds
        self.pair_times.append(prediction_time)
        self.pair_scores.append(score)
        self.outcome_times.append(outcome_time)
        self.labels.append(label)

    def finish(self) -> int:
        """Write the entries (the last of each key), file them under their deadlines, add the pairs to the
        book; returns the number of pairs."""
        joiner = self.joiner
        joiner.store.set_many(list(self.written.items()), self.partition)
        joiner.index.add_many(list(self.deadlines), list(self.deadlines.values()))
        joiner.book.add_pairs(self.pair_times, self.pair_scores, self.outcome_times, self.labels)
        return len(self.pair_times)
