"""The delivery ledger: which offsets are safe to commit and where a replay starts; and the commit itself.

DESIGN.md section 4: offsets are committed only up to the lowest offset an open window still holds, after
the closed windows were evaluated and published, so a crash replays exactly the open windows. The engine
says, with every answer, the offset each partition is safe up to and the end of the last closed window per
topic (written into the commit's metadata, so a restarted sidecar skips replayed rows of windows it
already published). The :class:`DeliveryLedger` keeps those numbers between the answers and the commits,
and remembers the first offset read from each partition, where a partition without a commit is replayed
from; it does no I/O. The :class:`Committer` commits what the ledger says, once every dead-letter copy of
the records it passes exists and every report event of the windows it passes was acknowledged (what it
waits for is a :class:`Settles`: the publisher's outbox).
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from sidecar.logs import RateLimitedLog
from sidecar.stream.commits import commit_metadata
from sidecar.stream.deadletter import DeadLetter
from sidecar.stream.engine import Outcome

__all__ = ["COMMIT_INTERVAL_SECONDS", "Committer", "DeliveryLedger", "Settles"]

#: Commit at least this often when nothing closes, so dead-lettered and late records are not re-read
#: forever after a restart.
COMMIT_INTERVAL_SECONDS = 5.0


@dataclass
class DeliveryLedger:
    """Offsets safe to commit, window boundaries and replay starts of the consumed partitions.

    Examples
    --------
    >>> ledger = DeliveryLedger(["t"])
    >>> tp = TopicPartition("t", 0)
    >>> ledger.saw(tp, 40)
    >>> ledger.replay_starts({tp: None})  # no commit yet: from the first offset this process read
    {TopicPartition(topic='t', partition=0): 40}
    """

    topics: Iterable[str]
    #: partition -> the offset it is safe to commit (the lowest one an open window still holds)
    commits: dict[TopicPartition, int] = field(default_factory=dict)
    #: topic -> end of the last closed window (commit metadata)
    closed_until: dict[str, float] = field(default_factory=dict)
    #: partition -> first offset this process read from it
    first_offset: dict[TopicPartition, int] = field(default_factory=dict)
    #: partition -> where the last rebuild sought it to
    replay_from: dict[TopicPartition, int] = field(default_factory=dict)
    closed_since_commit: bool = False
    last_commit: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.topics = tuple(self.topics)
        for topic in self.topics:
            self.closed_until.setdefault(topic, -math.inf)

    def saw(self, tp: TopicPartition, offset: int) -> None:
        """Note a record read from ``tp`` (only the first one counts)."""
        self.first_offset.setdefault(tp, offset)

    def apply(self, outcome: Outcome) -> None:
        """Take the engine's latest safe offsets and window boundaries for the streams it answered about
        (the others keep theirs)."""
        if outcome.closed:
            self.closed_since_commit = True
        answered = set(outcome.closed_until)
        self.commits = {tp: o for tp, o in self.commits.items() if tp.topic not in answered}
        self.commits.update({tp: o for tp, o in outcome.commits.items() if isinstance(tp, TopicPartition)})
        self.closed_until.update(outcome.closed_until)

    def forget_windows(self) -> None:
        """The open windows were dropped (a rebalance, a lost worker): nothing is safe to commit until the
        engine says so again."""
        self.commits.clear()

    def commit_due(self, now: float | None = None) -> bool:
        """True after a window closed, or when the last commit is :data:`COMMIT_INTERVAL_SECONDS` old."""
        now = time.monotonic() if now is None else now
        return self.closed_since_commit or now - self.last_commit >= COMMIT_INTERVAL_SECONDS

    def committing(self, now: float | None = None) -> None:
        """A commit is being attempted now (due or not, it resets the clock and the closed flag)."""
        self.last_commit = time.monotonic() if now is None else now
        self.closed_since_commit = False

    def offsets(self, assigned: Iterable[TopicPartition]) -> dict[TopicPartition, OffsetAndMetadata]:
        """What to commit for the partitions this consumer holds, each with its topic's window boundary."""
        held = set(assigned)
        return {
            tp: OffsetAndMetadata(offset, commit_metadata(self.closed_until.get(tp.topic, -math.inf)))
            for tp, offset in self.commits.items()
            if tp in held
        }

    def replay_starts(self, committed: Mapping[TopicPartition, int | None]) -> dict[TopicPartition, int]:
        """Where each assigned partition is replayed from: its committed offset, or (no commit yet) the first
        offset this process read from it. Partitions with neither are left where the consumer puts them."""
        self.replay_from = {}
        for tp, offset in committed.items():
            start = offset if offset else self.first_offset.get(tp, 0 if offset == 0 else None)
            if start is not None:
                self.replay_from[tp] = start
        return dict(self.replay_from)

    def replay_position(self, tp: TopicPartition, fallback: int) -> int:
        """Where a partition whose fetched records must be read again goes back to."""
        return self.replay_from.get(tp, fallback)


class Settles(Protocol):
    """Sends a commit waits for (dead-letter copies, report events): how many are unsettled, and ``settle``,
    which waits for them and returns the retriable failures (sent again); while any are returned, the commit
    waits."""

    @property
    def pending(self) -> int: ...

    async def settle(self, producer: AIOKafkaProducer | None) -> Sequence[tuple[object, BaseException]]: ...


class Committer:
    """Commits the offsets the ledger says are safe, for the partitions the consumer holds.

    Parameters
    ----------
    ledger
        Where the safe offsets and window boundaries are kept.
    dead_letters
        The copies of rejected records on their way to the dead-letter topics and the report events of closed
        windows (:class:`Settles`): a commit waits for them.
    errors
        Called with ``(stage, count)`` for failed dead-letter sends (``"dead_letter"``), report event sends
        (``"report_event"``) and commits (``"commit"``): the ``model_health_kafka_errors_total`` counter.
    log
        Where failures are said, rate-limited (the counter has the rest).
    """

    def __init__(self, ledger: DeliveryLedger, dead_letters: Settles, errors: Callable[[str, int], None],
                 log: RateLimitedLog) -> None:
        self.ledger = ledger
        self.dead_letters = dead_letters
        self._errors = errors
        self._log = log

    async def commit(self, consumer: AIOKafkaConsumer | None, producer: AIOKafkaProducer | None) -> None:
        """Commit now, unless a dead-letter copy or a report event is still failing (then the next commit tries
        again)."""
        self.ledger.committing()
        if consumer is None or not self.ledger.commits:
            return
        if self.dead_letters.pending:
            # Committing now would skip records whose dead-letter copy (or window's report event) does not exist:
            # retriable failures are sent again and the commit waits for them; permanent ones are counted.
            failed = await self.dead_letters.settle(producer)
            if failed:
                stages = Counter("dead_letter" if isinstance(c, DeadLetter) else "report_event" for c, _ in failed)
                for stage, n in stages.items():
                    self._errors(stage, n)
                self._log.log(logging.WARNING, "%d sends failed (%s: %s); retrying before committing",
                              len(failed), ", ".join(sorted(stages)), failed[0][1])
                return
        offsets = self.ledger.offsets(consumer.assignment())
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            self._errors("commit", 1)
            self._log.log(logging.WARNING, "commit failed (%s); will retry", exc)
