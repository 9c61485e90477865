"""The control room's Kafka ingest: every pod's report events and every joiner's metric events into the store.

:class:`IngestService` consumes ``kafka.reports_topic`` and ``kafka.metrics_topic`` in the control room's own
consumer group (``kafka.group_id``, default ``model-health-serve``) with manual commits, and for each
``getmany`` batch: parses every record (:class:`~sidecar.report.event.ReportEvent`,
:class:`~sidecar.store.base.MetricEvent`), upserts the reports (``put_reports``, one transaction, by report
id) and the metric points (``put_metric_points``, by (model, metric, kind, time)), and only then commits the
batch's offsets. So the guarantee is at-least-once delivery into an idempotent upsert: a crash (kill -9)
between the database commit and the offset commit redelivers records that are stored already and change
nothing; a crash before the database commit loses nothing, since their offsets were not committed.

A record that is not an event (not JSON, a field missing or of the wrong type, a tombstone), or one the
database cannot hold (:mod:`sidecar.serve.storable`: a name too long, a NUL character), is counted
(``model_health_serve_ingest_records_total{result="malformed"}``, :attr:`IngestService.counts`), logged once
per reason with its topic, partition and offset, and skipped: the commit moves past it, so one bad record
never stalls the topic and never stops the service. (A record that passes those checks and still makes
every transaction fail is indistinguishable here from a database that cannot write; it holds the
partition, loudly, as below.)

**When the store cannot write** (a database restarting, a full disk, a lock that does not clear), nothing
is committed: the batch's partitions are sought back to the batch's first offsets and the same records are
fetched and tried again with exponential backoff (``kafka.retry_backoff_seconds`` up to
``retry_backoff_max_seconds``), each failure counted in ``model_health_serve_ingest_errors_total{stage="store"}``
and logged (rate-limited) with the error; :attr:`IngestService.store_failing_since` says since when. We
retry rather than exit because the control room serves the API and dashboard from the same store (reads may
well work while writes fail), and the fault that stops writes is usually one that clears on its own; a
process restart would not clear it sooner. Fetching again (rather than holding the batch and sleeping) keeps
the consumer polling, so the group does not evict it, and follows a rebalance that happens meanwhile.
Kafka faults (broker down, a lost connection) reconnect with the same backoff; the service never ends on
its own, only :meth:`IngestService.stop` ends it.

Profile events (``profiles_topic``, the fleet view) are for a later issue and not consumed yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import Counter
from pydantic import ValidationError

from sidecar.alerts.backoff import Backoff
from sidecar.config.serve import ServeKafkaSettings, ServeSettings
from sidecar.kafka.clients import client_options
from sidecar.kafka.noise import install_noise_filter, stop_quietly
from sidecar.logs import RateLimitedLog
from sidecar.report.event import ReportEvent
from sidecar.serve.metrics import ServeMetrics
from sidecar.serve.storable import metric_problem, report_problem
from sidecar.store.base import ControlStore, MetricEvent, MetricKind, MetricPoint
from sidecar.stream.control import ensure_topic

__all__ = ["BATCH_RECORDS", "MAX_LOGGED_REASONS", "IngestService", "reason_of"]

log = logging.getLogger(__name__)

#: Records fetched (and stored in one transaction) at most per batch.
BATCH_RECORDS = 500
#: Distinct malformed-record reasons logged; past it every further one is only counted.
MAX_LOGGED_REASONS = 200
#: How long a getmany waits for records.
FETCH_TIMEOUT_MS = 500


def reason_of(error: ValidationError) -> str:
    """One line saying why a record is not an event: its first problem's field and type (not its value, so
    equal faults share one reason).

    >>> try:
    ...     ReportEvent.model_validate_json(b'{"model": "m"}')
    ... except ValidationError as exc:
    ...     reason_of(exc)
    'report: missing'
    >>> try:
    ...     ReportEvent.model_validate_json(b'not json')
    ... except ValidationError as exc:
    ...     reason_of(exc)
    'not JSON'
    """
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        return "not JSON"
    where = ".".join(str(p) for p in first["loc"]) or "(top)"
    return f"{where}: {first['type']}"


@dataclass
class _Parsed:
    """One batch, parsed: report events with their topic, metric points by (model, metric, kind), and the
    records counted so far by (topic, result)."""

    reports: list[tuple[str, ReportEvent]] = field(default_factory=list)
    metrics: dict[tuple[str, str, MetricKind], dict[datetime, float]] = field(default_factory=dict)
    done: Tally[tuple[str, str]] = field(default_factory=Tally)


class IngestService:
    """Consumes the report and metric topics into ``store`` (see the module docstring for the guarantees).

    An async service: ``start()``/``stop()`` or ``async with``; it owns its task and its Kafka clients.
    Without ``settings.kafka`` it does nothing (reports then arrive over HTTP only).

    Parameters
    ----------
    settings
        The control room's settings; ``settings.kafka`` names the brokers, the group and the topics.
    store
        Where the events go (a started :class:`~sidecar.store.base.ControlStore`).
    metrics
        The app's :class:`~sidecar.serve.metrics.ServeMetrics`: stored reports are counted in its
        ``model_health_serve_reports_total{via="kafka"}``, and ``model_health_serve_ingest_records_total{topic,
        result}`` and ``model_health_serve_ingest_errors_total{stage}`` join its registry; none: only
        :attr:`counts`.
    batch_records
        Records per batch at most (one database transaction each).

    Attributes
    ----------
    counts
        ``(topic, result) -> n`` with results ``stored``, ``duplicate`` (stored already), ``malformed``;
        ``("", "store_failures")`` and ``("", "kafka_errors")`` count failed attempts.
    store_failing_since
        ``time.monotonic()`` of the first failed store attempt of the current run of failures, else ``None``.
    """

    def __init__(self, settings: ServeSettings, store: ControlStore, *, metrics: ServeMetrics | None = None,
                 batch_records: int = BATCH_RECORDS) -> None:
        self.settings = settings
        self.kafka: ServeKafkaSettings | None = settings.kafka
        self.store = store
        self.batch_records = batch_records
        self.counts: Tally[tuple[str, str]] = Tally()
        self.store_failing_since: float | None = None
        self.metrics = metrics
        self._records: Counter | None = None
        self._errors: Counter | None = None
        if metrics is not None:
            self._records = Counter("model_health_serve_ingest_records", "Kafka records taken by the control "
                                    "room's ingest, by topic and result (stored, duplicate, malformed).",
                                    ("topic", "result"), registry=metrics.registry)
            self._errors = Counter("model_health_serve_ingest_errors", "Failed attempts of the control room's "
                                   "ingest, by stage (store: nothing committed, retried; kafka: reconnected).",
                                   ("stage",), registry=metrics.registry)
            for stage in ("store", "kafka"):
                self._errors.labels(stage)
        self._topics: tuple[str, ...] = ()
        if self.kafka is not None:
            self._topics = (self.kafka.reports_topic, self.kafka.metrics_topic)
            if self._records is not None:
                for topic in self._topics:
                    for result in ("stored", "duplicate", "malformed"):
                        self._records.labels(topic, result)
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._reasons: set[tuple[str, str]] = set()
        self._log = RateLimitedLog(log, 30.0)

    # -- lifecycle ----------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start consuming in the background (connecting with retries; never blocks on Kafka)."""
        if self._task is None and self.kafka is not None:
            install_noise_filter()
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="serve-ingest")

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand (store, commit), then disconnect; after ``timeout`` seconds the task is
        cancelled (its batch is then redelivered later: nothing is lost). Idempotent."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            log.warning("ingest did not finish its batch within %.0fs; cancelling it (it is redelivered)", timeout)
            task.cancel()
            await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            log.error("ingest ended with an error: %r", task.exception())
        await self._disconnect()

    async def __aenter__(self) -> IngestService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        """True while the consuming task runs."""
        return self._task is not None and not self._task.done()

    # -- the loop -----------------------------------------------------------------------------------------
    async def _run(self) -> None:
        k = self.kafka
        assert k is not None
        backoff = Backoff(k.retry_backoff_seconds, k.retry_backoff_max_seconds)
        try:
            while not self._stopping.is_set():
                try:
                    await self._connect(k)
                    backoff.reset()
                    await self._consume(backoff)
                except (KafkaError, OSError) as exc:  # OSError: sockets and TLS under aiokafka
                    self._count_error("kafka")
                    wait = backoff.next()
                    self._log.log(logging.WARNING, "ingest: kafka error (%s); reconnecting in %.1fs", exc, wait)
                    await self._disconnect()
                    await self._sleep(wait)
        finally:
            await self._disconnect()

    async def _connect(self, k: ServeKafkaSettings) -> None:
        if self._consumer is not None:
            return
        common = client_options(k)
        admin = AIOKafkaAdminClient(**common)
        try:
            await admin.start()
            for topic in self._topics:
                await ensure_topic(admin, topic)
        finally:
            await stop_quietly(admin.close())
        consumer = AIOKafkaConsumer(
            group_id=k.group_id, enable_auto_commit=False, auto_offset_reset=k.auto_offset_reset,
            max_partition_fetch_bytes=k.max_partition_fetch_bytes, fetch_max_wait_ms=k.fetch_max_wait_ms,
            check_crcs=k.check_crcs, metadata_max_age_ms=10_000, **common)
        try:
            await consumer.start()
        except BaseException:
            await stop_quietly(consumer.stop())
            raise
        consumer.subscribe(list(self._topics))
        self._consumer = consumer
        log.info("ingest: consuming %s as group %s", ", ".join(self._topics), k.group_id)

    async def _disconnect(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await stop_quietly(consumer.stop())

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _consume(self, backoff: Backoff) -> None:
        consumer = self._consumer
        assert consumer is not None
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=self.batch_records)
            batches = {tp: records for tp, records in batches.items() if records}
            if not batches:
                continue
            parsed = self._parse(batches)
            try:
                created = await self._store(parsed)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # whatever the store raises: nothing is committed, the batch comes again
                self._store_failed(consumer, batches, exc)
                await self._sleep(backoff.next())
                continue
            if self.store_failing_since is not None:
                log.info("ingest: the store writes again after %.0fs", time.monotonic() - self.store_failing_since)
                self.store_failing_since = None
            backoff.reset()
            self._tally(parsed, created)
            await self._commit(consumer, batches)

    def _parse(self, batches: Mapping[TopicPartition, Sequence[Any]]) -> _Parsed:
        """Reports (with their topic), metric points by series (the last value per time wins, as if stored
        one by one), and the counts of metric and malformed records per topic."""
        assert self.kafka is not None
        parsed = _Parsed()
        for tp, records in batches.items():
            is_reports = tp.topic == self.kafka.reports_topic
            for record in records:
                if record.value is None:
                    self._malformed(tp, record.offset, "empty record (a tombstone)", parsed)
                    continue
                try:
                    if is_reports:
                        report = ReportEvent.model_validate_json(record.value)
                        problem = report_problem(report)
                    else:
                        metric = MetricEvent.model_validate_json(record.value)
                        problem = metric_problem(metric)
                except ValidationError as exc:
                    self._malformed(tp, record.offset, reason_of(exc), parsed)
                    continue
                if problem is not None:  # valid, but the tables cannot hold it: one would fail every retry
                    field_name, message = problem
                    self._malformed(tp, record.offset, f"cannot be stored: {field_name} {message.split(', got')[0]}",
                                    parsed)
                elif is_reports:
                    parsed.reports.append((tp.topic, report))
                else:
                    series = parsed.metrics.setdefault((metric.model, metric.metric, metric.kind), {})
                    series.update((p.time, p.value) for p in metric.points)
                    parsed.done[(tp.topic, "stored")] += 1
        return parsed

    def _malformed(self, tp: TopicPartition, offset: int, reason: str, parsed: _Parsed) -> None:
        parsed.done[(tp.topic, "malformed")] += 1
        key = (tp.topic, reason)
        if key not in self._reasons and len(self._reasons) < MAX_LOGGED_REASONS:
            self._reasons.add(key)
            log.warning("ingest: skipping malformed record %s[%d]@%d: %s. Further records like it are only "
                        "counted (model_health_serve_ingest_records_total{result=\"malformed\"})", tp.topic,
                        tp.partition, offset, reason)

    async def _store(self, parsed: _Parsed) -> list[bool]:
        """Reports in one transaction, then each metric series; whether each report was new."""
        created: list[bool] = []
        if parsed.reports:
            created = [c for _, c in await self.store.put_reports([event for _, event in parsed.reports])]
        for (model, metric, kind), points in parsed.metrics.items():
            await self.store.put_metric_points(model, metric, kind,
                                               [MetricPoint(time=t, value=v) for t, v in sorted(points.items())])
        return created

    def _store_failed(self, consumer: AIOKafkaConsumer, batches: Mapping[TopicPartition, Sequence[Any]],
                      exc: BaseException) -> None:
        self._count_error("store")
        if self.store_failing_since is None:
            self.store_failing_since = time.monotonic()
        assigned = consumer.assignment()
        for tp, records in batches.items():
            if tp in assigned:
                consumer.seek(tp, records[0].offset)
        self._log.log(logging.ERROR, "ingest: the store cannot write (%s: %s); nothing committed, the same %d "
                      "records are fetched again with backoff", type(exc).__name__, exc,
                      sum(len(r) for r in batches.values()))

    def _tally(self, parsed: _Parsed, created: Sequence[bool]) -> None:
        done = parsed.done
        for (topic, _), new in zip(parsed.reports, created, strict=True):
            done[(topic, "stored" if new else "duplicate")] += 1
        self.counts.update(done)
        if self.metrics is not None:
            fresh = sum(1 for c in created if c)
            self.metrics.count_reports("kafka", fresh, len(created) - fresh)
        if self._records is not None:
            for (topic, result), n in done.items():
                self._records.labels(topic, result).inc(n)

    async def _commit(self, consumer: AIOKafkaConsumer, batches: Mapping[TopicPartition, Sequence[Any]]) -> None:
        assigned = consumer.assignment()
        offsets = {tp: records[-1].offset + 1 for tp, records in batches.items() if tp in assigned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance took the partitions: their new owner redelivers, idempotently
            self._count_error("kafka")
            self._log.log(logging.WARNING, "ingest: commit failed (%s); the records are delivered again", exc)

    def _count_error(self, stage: str) -> None:
        self.counts[("", f"{stage}_failures" if stage == "store" else f"{stage}_errors")] += 1
        if self._errors is not None:
            self._errors.labels(stage).inc()
