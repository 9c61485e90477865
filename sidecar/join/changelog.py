"""The pair table's changelog, written a batch at a time.

faust changelogs every ``table[key] = value`` on its own: a ``FutureMessage`` through the producer
buffer's queue, one event-loop hop and one ``publish_message`` per record, plus the table's sensors. With
two records per joined pair that was half of what the joiner cost beyond faust's own per-event work
(benchmarks/join_throughput.py). The joiner writes the table's store directly (``table.data``, which
puts the key in the partition of faust's current event, see :mod:`sidecar.join.faustcompat`) and queues
the changelog record here; :meth:`ChangelogOutbox.flush` hands a batch's records to the app's producer
in one go, without awaiting their delivery: as one prebuilt aiokafka record batch per partition where
:func:`~sidecar.join.faustcompat.record_batches` vouches for the producer (a record costs an append to the
batch, not a ``send`` of its own), else record by record through ``app.producer.send`` (faust's public API).
A prebuilt batch is closed before it is submitted, so the producer sends it without lingering; faust still
flushes the producer (delivering the batches) before it commits consumer offsets.

Order: every write (the agents' and the sweep's) appends to the one outbox synchronously, right where
the store is written, and flushes are serialised by a lock, so the changelog receives each key's records
in the order the store saw them, however the two agents and the sweep interleave. What a recovery reads
back is therefore what the store held.

The persisted offset (what lets a restarted RocksDB table skip the changelog it already holds) is set
once per partition and flush, from the delivery of the flush's last record there (a record batch's
delivery reports its first offset: the last is that plus its records less one), as faust's own
``Table._on_changelog_sent`` does per record.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faust.types import TP

from sidecar.join.faustcompat import record_batches

__all__ = ["ChangelogOutbox"]

log = logging.getLogger(__name__)

#: Per partition: the future of the flush's last send there, and the offset of its last record after the
#: offset the future reports (a record batch reports its first).
_Last = dict[int, tuple["asyncio.Future[Any]", int]]


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
            topic = self.table.changelog_topic.get_topic_name()
            batches = record_batches(self.table.app)
            if batches is None:
                last = await self._send_each(topic, records)
            else:
                last = await self._send_batches(batches, topic, records)
            for partition, (future, after_first) in last.items():
                future.add_done_callback(self._persisted(TP(topic, partition), after_first))
            self.sent += len(records)
            return len(records)

    async def _send_each(self, topic: str, records: list[tuple[int, bytes, bytes | None]]) -> _Last:
        send = self.table.app.producer.send
        last: _Last = {}
        for partition, key, value in records:
            last[partition] = (await send(topic, key, value, partition, None, None), 0)
        return last

    async def _send_batches(self, producer: Any, topic: str, records: list[tuple[int, bytes, bytes | None]]) -> _Last:
        by_partition: dict[int, list[tuple[bytes, bytes | None]]] = {}
        for partition, key, value in records:
            by_partition.setdefault(partition, []).append((key, value))
        last: _Last = {}
        for partition, items in by_partition.items():
            batch, n = producer.create_batch(), 0
            for key, value in items:
                if batch.append(timestamp=None, key=key, value=value, headers=[]) is None:
                    # Full: send it and start another (an empty batch takes any one record, as in Kafka).
                    last[partition] = (await self._submit(producer, batch, topic, partition), n - 1)
                    batch, n = producer.create_batch(), 0
                    batch.append(timestamp=None, key=key, value=value, headers=[])
                n += 1
            if n:
                last[partition] = (await self._submit(producer, batch, topic, partition), n - 1)
        return last

    @staticmethod
    async def _submit(producer: Any, batch: Any, topic: str, partition: int) -> asyncio.Future[Any]:
        batch.close()  # closed: the producer sends it at once instead of waiting for more records to join it
        future: asyncio.Future[Any] = await producer.send_batch(batch, topic, partition=partition)
        return future

    def _persisted(self, tp: TP, after_first: int = 0) -> Any:
        def done(future: asyncio.Future[Any]) -> None:
            if future.cancelled():
                return
            error = future.exception()
            if error is not None:
                log.error("join: changelog %s: a record was not delivered: %r", tp, error)
                return
            offset = future.result().offset + after_first
            if self.table.app.in_transaction:
                self.table.app.tables.persist_offset_on_commit(self.table.data, tp, offset)
            else:
                self.table.data.set_persisted_offset(tp, offset)
        return done
