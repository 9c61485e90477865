"""The sidecar's consumer loop: Kafka in, windows evaluated, metrics and reports out, offsets committed.

Delivery (DESIGN.md section 4): offsets are committed only up to the lowest offset an open window still
holds, after closed windows were evaluated and published, so a crash replays exactly the open windows.
Each commit carries ``{"closed_until": t}`` as metadata, the end of the last closed window; on restart
replayed rows of closed windows are skipped as they were counted (or dropped as late) before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from sidecar.config import Settings
from sidecar.contract import DataContract
from sidecar.metrics import SidecarMetrics
from sidecar.report import ValidationReport
from sidecar.store.reports import ReportStore
from sidecar.stream.commits import RebalanceForwarder, closed_until_from, commit_metadata
from sidecar.stream.deadletter import dead_letter_headers
from sidecar.stream.decoders import MessageError, RawMessage
from sidecar.stream.topic import Evaluated, Ingested, TopicStream

__all__ = ["SidecarService"]

log = logging.getLogger(__name__)

#: How often the broker is probed for the ``model_health_kafka_up`` gauge (and how long a probe may take).
PROBE_INTERVAL_SECONDS = 5.0

#: Commit at least this often when nothing closes, so dead-lettered and late records are not re-read
#: forever after a restart.
COMMIT_INTERVAL_SECONDS = 5.0

ReportListener = Callable[[TopicStream, ValidationReport], Any]


class SidecarService:
    """Consumes a model's topics and judges every window against the contracts.

    An async service: ``start()``/``stop()`` or ``async with``. ``stop()`` closes the open windows as
    partial, publishes them, commits and returns; it is safe to call twice.
    """

    def __init__(
        self,
        settings: Settings,
        metrics: SidecarMetrics,
        reports: ReportStore | None = None,
        contracts: dict[str, DataContract] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.reports = reports
        self.streams: dict[str, TopicStream] = {}
        for role, topic in settings.topics:
            contract = (contracts or {}).get(role) or DataContract.from_path(topic.contract)
            self.streams[topic.topic] = TopicStream(role, topic, settings.window, contract)
            metrics.init_stream(topic.topic, contract)
        self.listeners: list[ReportListener] = []
        self.last_reports: dict[str, ValidationReport] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._next_offset: dict[TopicPartition, int] = {}
        self._first_offset: dict[TopicPartition, int] = {}
        self._last_commit = time.monotonic()
        self._pending_sends: list[tuple[_DeadLetter, asyncio.Future[None]]] = []
        self._lock = asyncio.Lock()
        self.connected = False

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the loop in the background (connecting to Kafka with retries; never blocks on it)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"sidecar-{self.settings.model}")
            self._probe_task = asyncio.create_task(self._probe(), name=f"sidecar-probe-{self.settings.model}")

    async def stop(self) -> None:
        """Stop fetching, close open windows as partial, publish, commit, disconnect. Idempotent."""
        self._stopping.set()
        probe, self._probe_task = self._probe_task, None
        if probe is not None:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
        task, self._task = self._task, None
        if task is not None:
            try:
                await task
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop already logged it; shutdown must still finish
                log.exception("sidecar loop ended with an error")

    async def __aenter__(self) -> SidecarService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def alive(self) -> bool:
        """True while the loop task runs (``/healthz``)."""
        return self._task is not None and not self._task.done()

    # -- ingestion from HTTP --------------------------------------------------------------------------
    def stream_for(self, role: str) -> TopicStream | None:
        """The stream of ``role`` (``inputs`` or ``predictions``)."""
        return next((s for s in self.streams.values() if s.role == role), None)

    async def ingest_http(self, stream: TopicStream, messages: Sequence[RawMessage]) -> Ingested:
        """Feed HTTP-delivered messages (KServe CloudEvents) into the same windows as Kafka records."""
        async with self._lock:
            result = stream.ingest(messages)
            self._count(stream.topic, result)
            for err in result.errors:
                msg = messages[err.index]
                self._dead_letter(stream, msg.value, msg.key, msg.headers, None, None, err)
            await self._close_due()
        return result

    # -- the loop -------------------------------------------------------------------------------------
    async def _run(self) -> None:
        backoff = self.settings.kafka.retry_backoff_seconds
        try:
            while not self._stopping.is_set():
                try:
                    await self._connect()
                    backoff = self.settings.kafka.retry_backoff_seconds
                    await self._consume()
                except (KafkaError, OSError) as exc:
                    self._set_connected(False)
                    self.metrics.kafka_errors.labels(self.settings.model, "consume").inc()
                    log.warning("kafka error (%s); retrying in %.1fs", exc, backoff)
                    await self._disconnect()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
                    backoff = min(backoff * 2, self.settings.kafka.retry_backoff_max_seconds)
        finally:
            await self._shutdown()

    async def _connect(self) -> None:
        if self._consumer is not None:
            return
        k = self.settings.kafka
        common: dict[str, Any] = {
            "bootstrap_servers": k.bootstrap_servers,
            "client_id": k.client_id,
            "security_protocol": k.security_protocol,
        }
        if k.sasl_mechanism:
            common.update(
                sasl_mechanism=k.sasl_mechanism,
                sasl_plain_username=k.sasl_username,
                sasl_plain_password=k.sasl_password,
            )
        consumer = AIOKafkaConsumer(
            group_id=k.group_id,
            enable_auto_commit=False,
            auto_offset_reset=k.auto_offset_reset,
            max_poll_records=k.max_poll_records,
            fetch_max_wait_ms=k.fetch_max_wait_ms,
            max_partition_fetch_bytes=k.max_partition_fetch_bytes,
            check_crcs=k.check_crcs,
            # Notice topics created after start-up within seconds, not aiokafka's default five minutes.
            metadata_max_age_ms=10_000,
            **common,
        )
        producer = AIOKafkaProducer(max_request_size=16 * 1024 * 1024, linger_ms=5, **common)
        admin = AIOKafkaAdminClient(**common)
        try:
            await consumer.start()
            await producer.start()
            await admin.start()
        except BaseException:
            for client in (consumer, producer, admin):
                with contextlib.suppress(Exception):
                    await client.stop() if not isinstance(client, AIOKafkaAdminClient) else await client.close()
            raise
        self._consumer, self._producer, self._admin = consumer, producer, admin
        consumer.subscribe(list(self.streams), listener=RebalanceForwarder(self._on_revoked, self._on_assigned))
        self._set_connected(True)
        log.info("consuming %s as group %s", ", ".join(self.streams), k.group_id)

    async def _disconnect(self) -> None:
        consumer, producer, admin = self._consumer, self._producer, self._admin
        self._consumer = self._producer = self._admin = None
        for stream in self.streams.values():
            stream.windows.reset()  # replayed from the committed offsets after reconnecting
        self._next_offset.clear()
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()

    async def _consume(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        k = self.settings.kafka
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=max(k.fetch_max_wait_ms, 50), max_records=k.max_poll_records)
            if batches:
                # Ingesting is CPU-bound and blocks the loop: give aiokafka's fetcher a few turns first so
                # the next fetch request is already on the wire while this batch is processed.
                for _ in range(5):
                    await asyncio.sleep(0)
            async with self._lock:
                for tp, records in batches.items():
                    if records:
                        self._ingest_records(tp, records)
                await self._close_due()
                if time.monotonic() - self._last_commit >= COMMIT_INTERVAL_SECONDS:
                    await self._commit()

    def _ingest_records(self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        stream = self.streams[tp.topic]
        messages = [RawMessage(r.value, tuple(r.headers), r.timestamp, r.key) for r in records]
        offsets = np.fromiter((r.offset for r in records), dtype=np.int64, count=len(records))
        try:
            result = stream.ingest(messages, partition=tp, offsets=offsets)
        except Exception as exc:
            # Decoders reject bad input without raising; reaching here is a bug. The loop must survive
            # it all the same: the batch is dead-lettered (nothing of it was added to a window) and kept.
            log.exception("internal error on %s records %d..%d; dead-lettering the batch", tp, records[0].offset,
                          records[-1].offset)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            result = Ingested(0, 0, 0, [MessageError(i, reason, "InternalError") for i in range(len(records))])
        self._next_offset[tp] = records[-1].offset + 1
        self._first_offset.setdefault(tp, records[0].offset)
        self._count(tp.topic, result)
        for err in result.errors:
            r = records[err.index]
            self._dead_letter(stream, r.value, r.key, tuple(r.headers), tp.partition, r.offset, err)

    def _count(self, topic: str, result: Ingested) -> None:
        m, model = self.metrics.records, self.settings.model
        if result.accepted_messages:
            m.labels(model, topic, "ok").inc(result.accepted_messages)
        if result.errors:
            m.labels(model, topic, "dead_lettered").inc(len(result.errors))
        if result.late_rows:
            m.labels(model, topic, "late").inc(result.late_rows)

    def _dead_letter(
        self,
        stream: TopicStream,
        value: bytes | None,
        key: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        partition: int | None,
        offset: int | None,
        err: MessageError,
    ) -> None:
        log.debug("dead-lettering %s[%s]@%s: %s", stream.topic, partition, offset, err.reason)
        if self._producer is None:
            return
        hdrs = dead_letter_headers(headers, stream.topic, partition, offset, err)
        copy = _DeadLetter(stream.settings.dead_letter_topic, value, key, hdrs)
        self._pending_sends.append((copy, asyncio.ensure_future(_deliver(self._producer, copy))))

    # -- windows --------------------------------------------------------------------------------------
    async def _close_due(self, *, final: bool = False) -> int:
        closed = 0
        for stream in self.streams.values():
            if final:
                ready = [(w, True) for w in stream.windows.close_all()]
            else:
                ready = stream.due()
            for window, partial in ready:
                self._publish(stream, stream.evaluate(window, partial))
                closed += 1
            self.metrics.open_windows.labels(self.settings.model, stream.contract.name).set(len(stream.windows.open))
        if closed and not final:
            await self._commit()
        return closed

    def _publish(self, stream: TopicStream, ev: Evaluated) -> None:
        report = ev.report
        self.metrics.publish(report, ev.duration_seconds)
        if self.reports is not None:
            self.reports.append(self.settings.model, report)
        self.last_reports[stream.topic] = report
        bad = {k: v for k, v in report.summary.items() if v["warning"] or v["critical"]}
        log.info(
            "window %s..%s %s: %d rows, %s%s",
            report.window_start,
            report.window_end,
            stream.contract.name,
            report.row_count["actual"],
            report.status.value,
            f" {bad}" if bad else "",
        )
        for listener in self.listeners:
            try:
                listener(stream, report)
            except Exception:
                log.exception("report listener failed")

    async def _commit(self) -> None:
        consumer = self._consumer
        self._last_commit = time.monotonic()
        if consumer is None or not self._next_offset:
            return
        if self._pending_sends:
            sends, self._pending_sends = self._pending_sends, []
            results = await asyncio.gather(*(fut for _, fut in sends), return_exceptions=True)
            failed = [(copy, r) for (copy, _), r in zip(sends, results, strict=True) if isinstance(r, BaseException)]
            if failed:
                # Committing now would skip records whose dead-letter copy does not exist: send them again
                # and commit only once every copy is acknowledged.
                self.metrics.kafka_errors.labels(self.settings.model, "dead_letter").inc(len(failed))
                log.warning("%d dead-letter sends failed (%s); retrying before committing", len(failed), failed[0][1])
                if self._producer is not None:
                    self._pending_sends = [(c, asyncio.ensure_future(_deliver(self._producer, c))) for c, _ in failed]
                return
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, nxt in self._next_offset.items():
            stream = self.streams[tp.topic]
            offset = stream.windows.committable(tp, nxt)
            meta = commit_metadata(stream.windows.closed_until)
            offsets[tp] = OffsetAndMetadata(offset, meta)
        assigned = consumer.assignment()
        offsets = {tp: om for tp, om in offsets.items() if tp in assigned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            self.metrics.kafka_errors.labels(self.settings.model, "commit").inc()
            log.warning("commit failed (%s); will retry", exc)

    async def _shutdown(self) -> None:
        async with self._lock:
            await self._close_due(final=True)
            await self._commit()
        await self._disconnect()
        self._set_connected(False)

    async def _probe(self) -> None:
        """Keep ``model_health_kafka_up`` honest: aiokafka retries a lost broker silently inside getmany,
        so the loop alone would never notice an outage."""
        while not self._stopping.is_set():
            admin = self._admin
            if admin is not None:
                try:
                    await asyncio.wait_for(admin.describe_cluster(), PROBE_INTERVAL_SECONDS)
                    self._set_connected(True)
                except (KafkaError, TimeoutError, OSError) as exc:
                    if self.connected:
                        log.warning("kafka unreachable (%s); consuming resumes when it is back", exc or "timeout")
                    self.metrics.kafka_errors.labels(self.settings.model, "probe").inc()
                    self._set_connected(False)
            await asyncio.sleep(PROBE_INTERVAL_SECONDS)

    def _set_connected(self, up: bool) -> None:
        self.connected = up
        self.metrics.kafka_up.labels(self.settings.model).set(1 if up else 0)

    # -- rebalancing ----------------------------------------------------------------------------------
    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        # Open windows mix partitions; rebuilding them from committed offsets is simpler than splitting.
        for stream in self.streams.values():
            stream.windows.reset()
        for tp in revoked:
            self._next_offset.pop(tp, None)

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer, admin = self._consumer, self._admin
        if consumer is None or not assigned:
            return
        # The replay must start where the open windows' rows start, or rows are lost from them: the
        # consumer's own committed-offset lookup retries until the coordinator answers, and a partition
        # with no commit yet goes back to the first offset this process read from it.
        committed = await consumer.seek_to_committed(*assigned)
        for tp, offset in committed.items():
            if not offset:  # None (never committed) or 0, which seek_to_committed does not seek to
                start = self._first_offset.get(tp, 0 if offset == 0 else None)
                if start is not None:
                    consumer.seek(tp, start)
        if admin is not None:
            # Only the window boundary from the commit metadata; after a restart it is all we know of it.
            try:
                metadata = await admin.list_consumer_group_offsets(self.settings.kafka.group_id,
                                                                    partitions=list(assigned))
            except KafkaError as exc:
                log.warning("could not read commit metadata (%s); keeping the known window boundary", exc)
                metadata = {}
            for tp, om in metadata.items():
                stream = self.streams[tp.topic]
                stream.windows.closed_until = max(stream.windows.closed_until, closed_until_from(om.metadata))
        # Also after the seeks, not only on revocation: after a lost session rows can reach the windows between
        # the two callbacks, and the open windows must hold exactly what is replayed.
        for stream in self.streams.values():
            stream.windows.reset()
        self._next_offset = {tp: o for tp, o in self._next_offset.items() if tp in assigned}


class _DeadLetter(NamedTuple):
    """One dead-letter copy, kept until the broker acknowledged it."""

    topic: str
    value: bytes | None
    key: bytes | None
    headers: list[tuple[str, bytes]]


async def _deliver(producer: AIOKafkaProducer, copy: _DeadLetter) -> None:
    """Send and wait for the broker's acknowledgement, so a failed dead-letter copy is seen at commit time."""
    # A tombstone (no value, no key) cannot be produced as is; an empty key keeps the copy "unchanged".
    key = copy.key if copy.key is not None or copy.value is not None else b""
    delivery = await producer.send(copy.topic, value=copy.value, key=key, headers=copy.headers)
    await delivery
