"""The pair table's changelog, written a batch at a time.

faust changelogs every ``table[key] = value`` on its own: a ``FutureMessage`` through the producer
buffer's queue, one event-loop hop and one ``publish_message`` per record, plus the table's sensors. With
two records per joined pair that was half of what the joiner cost beyond faust's own per-event work
(benchmarks/join_throughput.py). The joiner writes the table's store directly (``table.data``, which
puts the key in the partition of faust's current event, see :mod:`sidecar.join.faustcompat`) and queues
the changelog record here; :meth:`ChangelogOutbox.flush` hands a batch's records to the app's producer
(``app.producer.send``, faust's public producer API) in one go, without awaiting their delivery.

Order: every write (the agents' and the sweep's) appends to the one outbox synchronously, right where
the store is written, and flushes are serialised by a lock, so the changelog receives each key's records
in the order the store saw them, however the two agents and the sweep interleave. What a recovery reads
back is therefore what the store held.

The persisted offset (what lets a restarted RocksDB table skip the changelog it already holds) is set
once per partition and flush, from the delivery of the flush's last record there, as faust's own
``Table._on_changelog_sent`` does per record.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faust.types import TP

__all__ = ["ChangelogOutbox"]

log = logging.getLogger(__name__)


class ChangelogOutbox:
    """Changelog records of ``table`` waiting to be produced: ``(partition, key, value or None)``.

    Parameters
    ----------
    table : a faust ``Table`` with raw (bytes) keys and values
    """

    def __init__(self, table: Any) -> None:
        self.table = table
        self.records: list[tuple[int, bytes, bytes | None]] = []
        self.sent = 0
        self._lock = asyncio.Lock()

    def put(self, partition: int, key: bytes, value: bytes | None) -> None:
        """Queue one record (``None``: a tombstone); call it where the store is written."""
        self.records.append((partition, key, value))

    def ready(self) -> bool:
        """Whether the app's producer runs (it does not in faust's agent test contexts)."""
        producer = self.table.app.producer
        return bool(producer.started) and not producer.should_stop

    async def flush(self) -> int:
        """Hand every queued record to the producer, in order; returns how many.

        Records stay queued while the producer does not run. Delivery is not awaited: the producer
        batches for ``producer_linger`` and faust flushes it before committing consumer offsets.
        """
        if not self.records or not self.ready():
            return 0
        async with self._lock:
            records, self.records = self.records, []
            if not records:
                return 0
            send = self.table.app.producer.send
            topic = self.table.changelog_topic.get_topic_name()
            last: dict[int, asyncio.Future[Any]] = {}
            for partition, key, value in records:
                last[partition] = await send(topic, key, value, partition, None, None)
            for partition, future in last.items():
                future.add_done_callback(self._persisted(TP(topic, partition)))
            self.sent += len(records)
            return len(records)

    def _persisted(self, tp: TP) -> Any:
        def done(future: asyncio.Future[Any]) -> None:
            if future.cancelled():
                return
            error = future.exception()
            if error is not None:
                log.error("join: changelog %s: a record was not delivered: %r", tp, error)
                return
            offset = future.result().offset
            if self.table.app.in_transaction:
                self.table.app.tables.persist_offset_on_commit(self.table.data, tp, offset)
            else:
                self.table.data.set_persisted_offset(tp, offset)
        return done
