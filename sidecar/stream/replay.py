"""Rebuilding the open windows from the committed offsets: after a rebalance, a reconnect or a lost worker.

Open windows mix partitions and live in the engine (maybe another process), so whenever the consumer's
partitions change or the worker holding the windows is replaced, the windows are dropped and every
partition is read again from its committed offset (or the first offset this process read from it). The
commit metadata carries the end of the last closed window per topic, so replayed rows of windows already
published are skipped. Records fetched while a rebalance was under way are not ingested but read again.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from sidecar.stream.answers import AnswerQueue
from sidecar.stream.commits import RebalanceForwarder, closed_until_from
from sidecar.stream.engine import Request
from sidecar.stream.ledger import DeliveryLedger
from sidecar.stream.worker import Ingest

__all__ = ["Replayer"]

log = logging.getLogger("sidecar.stream.service")


class Replayer:
    """Keeps the engine's open windows consistent with what will be read from Kafka next."""

    def __init__(self, answers: AnswerQueue, ledger: DeliveryLedger, ingest: Ingest, group_id: str | None) -> None:
        self.answers = answers
        self.ledger = ledger
        self.ingest = ingest
        self.group_id = group_id
        self.consumer: AIOKafkaConsumer | None = None
        self.admin: AIOKafkaAdminClient | None = None
        #: True while the consumer's partitions are changing (fetched records are then read again).
        self.rebalancing = False
        #: Bumped by every assignment: a fetch begun under an older one is read again.
        self.epoch = 0
        #: The ingest worker generation the open windows were rebuilt on.
        self.windows_generation = 0

    def attach(self, consumer: AIOKafkaConsumer | None, admin: AIOKafkaAdminClient | None) -> RebalanceForwarder:
        """Use these clients; returns the listener to subscribe with."""
        self.consumer, self.admin = consumer, admin
        self.rebalancing = False
        return RebalanceForwarder(self.on_revoked, self.on_assigned)

    def reset_windows(self) -> None:
        """Drop the open windows (without yielding, so callers can pair it atomically with seeks)."""
        self.answers.submit_nowait(Request("reset"))
        self.ledger.forget_windows()

    def adopt_windows(self) -> None:
        """Whatever worker holds the windows now holds only what the next replay brings."""
        self.windows_generation = self.ingest.generation

    @property
    def windows_lost(self) -> bool:
        """True when a new worker replaced the one that held the windows (they must be replayed)."""
        return self.ingest.generation != self.windows_generation

    def stale(self, epoch: int) -> bool:
        """True when records fetched under ``epoch`` must be read again rather than ingested."""
        return self.rebalancing or epoch != self.epoch

    def replay(self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[Any]]) -> None:
        """Records fetched across a rebalance are not ingested but read again from the replay start.

        The windows were rebuilt empty at the positions :meth:`on_assigned` sought to; records that were in
        flight meanwhile may come from before or after that seek, so neither ingesting them nor skipping
        them is right. Seeking back makes every one of them arrive once more, in order.
        """
        assigned = consumer.assignment()
        for tp, records in batches.items():
            if not records:
                continue
            # Also "read" for a partition without a commit: on_assigned seeks it back here.
            self.ledger.saw(tp, records[0].offset)
            if not self.rebalancing and tp in assigned:  # else the seeks at the end of on_assigned cover them
                consumer.seek(tp, self.ledger.replay_position(tp, records[0].offset))

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Batches already handed to the engine are applied first (their windows may have closed), then the
        open windows are dropped: they mix partitions, and rebuilding them from committed offsets is simpler
        than splitting them."""
        self.rebalancing = True
        await self.answers.drain_or_discard()
        self.reset_windows()

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Rebuild the windows of the new assignment from the commits."""
        self.rebalancing = True
        try:
            await self._rebuild_from_commits(assigned)
        finally:
            self.rebalancing = False
            self.epoch += 1
            self.adopt_windows()

    async def _rebuild_from_commits(self, assigned: set[TopicPartition]) -> None:
        consumer, admin = self.consumer, self.admin
        if consumer is None or not assigned:
            return
        # The replay must start where the open windows' rows start, or rows are lost from them: the
        # consumer's own committed-offset lookup retries until the coordinator answers.
        committed = await consumer.seek_to_committed(*assigned)
        boundaries: dict[str, float] = {}
        if admin is not None and self.group_id is not None:
            # Only the window boundary from the commit metadata; after a restart it is all we know of it.
            try:
                metadata = await admin.list_consumer_group_offsets(self.group_id, partitions=list(assigned))
            except KafkaError as exc:
                log.warning("could not read commit metadata (%s); keeping the known window boundary", exc)
                metadata = {}
            for tp, om in metadata.items():
                boundaries[tp.topic] = max(boundaries.get(tp.topic, -math.inf), closed_until_from(om.metadata))
        await self.answers.drain_or_discard()
        # From here on nothing yields to the loop. Records fetched while the lookups above were awaited may
        # already be in the windows; the windows restart empty and every partition goes back to its start,
        # so each of those rows is read again exactly once. A partition with no commit yet goes back to
        # the first offset this process read from it.
        self.reset_windows()
        if boundaries:
            self.answers.submit_nowait(Request("closed_until", closed_until=boundaries))
        # Windows close only once every held partition's time has passed them (or it is idle).
        self.answers.submit_nowait(Request("assign", partitions=tuple(sorted(assigned))))
        for tp, start in self.ledger.replay_starts(committed).items():
            consumer.seek(tp, start)
