"""The sidecar's consumer loop: Kafka in, windows evaluated, metrics and reports out, offsets committed.

The loop fetches and hands each batch to the :class:`~sidecar.stream.engine.StreamEngine` (by default in an
ingest worker process, :mod:`sidecar.stream.worker`), then applies the engine's answers strictly in order:
counters, dead letters, published windows and the offsets safe to commit.

Delivery (DESIGN.md section 4): offsets are committed only up to the lowest offset an open window still
holds, after closed windows were evaluated and published, so a crash replays exactly the open windows.
Each commit carries ``{"closed_until": t}`` as metadata, the end of the last closed window; on restart
replayed rows of closed windows are skipped as they were counted (or dropped as late) before.

The service composes the parts that each do one job: the contracts and streams (:mod:`~sidecar.stream.
streams`), the engine's front-end (:func:`~sidecar.stream.worker.make_ingest`), the ledger and its
committer (:mod:`~sidecar.stream.ledger`), the replay after a rebalance (:mod:`~sidecar.stream.replay`),
the publisher (:mod:`~sidecar.stream.publisher`), the broker probe (:mod:`sidecar.kafka.probe`) and the
fast fetch path (:mod:`sidecar.kafka.fastio`, installed while the service runs). What stays here is the
loop that ties them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from sidecar.config import Settings
from sidecar.contract import DataContract
from sidecar.decoders import RawMessage
from sidecar.errors import IngestWorkerDied
from sidecar.kafka import fastio
from sidecar.kafka.clients import KafkaClients
from sidecar.kafka.noise import install_noise_filter, stop_quietly
from sidecar.kafka.probe import KafkaProbe
from sidecar.kafka.topics import ensure_dead_letter_topics
from sidecar.logs import RateLimitedLog
from sidecar.metrics import SidecarMetrics
from sidecar.report.model import ValidationReport
from sidecar.store.base import ReportStore
from sidecar.stream.answers import AnswerQueue, ingest_requests
from sidecar.stream.engine import OpenWindow, Outcome, Request
from sidecar.stream.ledger import Committer, DeliveryLedger
from sidecar.stream.publisher import Publisher, ReportListener
from sidecar.stream.replay import Replayer
from sidecar.stream.streams import StreamInfo, load_streams
from sidecar.stream.topic import Ingested
from sidecar.stream.worker import Ingest, ProcessIngest, make_ingest

__all__ = ["SidecarService", "StreamInfo"]

log = logging.getLogger(__name__)

#: Kafka error lines are logged at most this often (the count of the rest is in the metrics).
KAFKA_LOG_INTERVAL_SECONDS = 30.0

#: Without a Kafka consumer, windows are checked for closing this often.
IDLE_TICK_SECONDS = 1.0


class SidecarService:
    """Consumes a model's topics and judges every window against the contracts.

    An async service: ``start()``/``stop()`` or ``async with``. ``stop()`` closes the open windows as
    partial, publishes them, commits and returns; it is safe to call twice. ``ingest`` chooses where the
    engine runs (default: from ``settings.ingest``, see :func:`~sidecar.stream.worker.make_ingest`).

    Attributes
    ----------
    streams
        Topic -> :class:`StreamInfo` (role, settings, contract).
    last_reports
        The last published report per topic.
    listeners
        Called with every published report (alerts, the dashboard).
    open_windows
        Open windows per topic, as of the last applied answer of the engine.
    """

    def __init__(
        self,
        settings: Settings,
        metrics: SidecarMetrics,
        reports: ReportStore | None = None,
        contracts: dict[str, DataContract] | None = None,
        ingest: Ingest | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.reports = reports
        self.streams = load_streams(settings, contracts)
        for topic, stream in self.streams.items():
            metrics.init_stream(topic, stream.contract)
        self.ingest = ingest if ingest is not None else make_ingest(
            settings, {s.role: s.contract for s in self.streams.values()})
        self.publisher = Publisher(settings, metrics, reports)
        self.last_reports: dict[str, ValidationReport] = self.publisher.last_reports
        self.listeners: list[ReportListener] = self.publisher.listeners
        self.ledger = DeliveryLedger(self.streams)
        self._kafka_log = RateLimitedLog(log, KAFKA_LOG_INTERVAL_SECONDS)
        self.committer = Committer(self.ledger, self.publisher.outbox, self._count_kafka_errors,
                                   self._kafka_log)
        self.open_windows: dict[str, list[OpenWindow]] = {topic: [] for topic in self.streams}
        self.probe = KafkaProbe(metrics.kafka_up.labels(settings.model),
                                metrics.kafka_errors.labels(settings.model, "probe"))
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._fast_io = fastio.Installation()
        self._task: asyncio.Task[None] | None = None
        self._idle_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.answers = AnswerQueue(self.ingest, self._apply)
        self.replayer = Replayer(self.answers, self.ledger, self.ingest, settings.kafka.group_id)
        self._lock = asyncio.Lock()

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the loop in the background (connecting to Kafka with retries; never blocks on it)."""
        if self._task is None:
            install_noise_filter()
            if self.settings.kafka.fast_io:
                applied = self._fast_io.apply()
                log.info("Kafka fast I/O: %s", ", ".join(applied) or "not available here, stock aiokafka")
            await self.ingest.start()
            await self.publisher.start()
            self.replayer.adopt_windows()
            self._task = asyncio.create_task(self._run(), name=f"sidecar-{self.settings.model}")
            await self.probe.start()
            self._idle_task = asyncio.create_task(self._tick_without_kafka(),
                                                  name=f"sidecar-idle-{self.settings.model}")

    async def stop(self) -> None:
        """Stop fetching, close open windows as partial, publish, commit, disconnect. Idempotent."""
        self._stopping.set()
        await self.probe.stop()
        idle, self._idle_task = self._idle_task, None
        if idle is not None:
            idle.cancel()
            await asyncio.wait({idle})
        task, self._task = self._task, None
        if task is not None:
            try:
                await task
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop already logged it; shutdown must still finish
                log.exception("sidecar loop ended with an error")
        await self.publisher.stop()  # after the loop: the last (partial) windows' report events go out
        await self.ingest.stop()
        self._fast_io.undo()  # aiokafka's own classes again, for whatever runs after this service

    async def __aenter__(self) -> SidecarService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def connected(self) -> bool:
        """Whether the brokers answered last time (``model_health_kafka_up``; never ``/readyz``)."""
        return self.probe.connected

    @property
    def alive(self) -> bool:
        """True while the loop task runs (``/healthz``)."""
        return self._task is not None and not self._task.done()

    async def wait_ended(self) -> BaseException | None:
        """Wait until the loop task ends; return why, unless it ended because :meth:`stop` asked it to.

        The loop handles Kafka and worker faults itself, so an end it did not choose is a bug or a fault it
        cannot handle: the caller should log it and exit non-zero, so Kubernetes restarts the pod, rather
        than keep serving ``/metrics`` from a dead loop.
        """
        task = self._task
        if task is None:
            return None
        await asyncio.wait({task})
        if self._stopping.is_set():
            return None
        if task.cancelled():
            return asyncio.CancelledError("the sidecar loop was cancelled")
        return task.exception() or RuntimeError("the sidecar loop returned without being asked to stop")

    # -- ingestion from HTTP --------------------------------------------------------------------------
    def stream_for(self, role: str) -> StreamInfo | None:
        """The stream of ``role`` (``inputs`` or ``predictions``)."""
        return next((s for s in self.streams.values() if s.role == role), None)

    async def ingest_http(self, stream: StreamInfo, messages: Sequence[RawMessage]) -> Ingested:
        """Feed HTTP-delivered messages (KServe CloudEvents) into the same windows as Kafka records."""
        async with self._lock:
            future = await self.answers.submit(Request("ingest", stream.topic, messages=messages))
            await self.answers.drain(until=future)
            if self.ledger.closed_since_commit:
                await self.committer.commit(self._consumer, self._producer)
        ingested = future.result().ingested
        assert ingested is not None
        return ingested

    # -- the loop -------------------------------------------------------------------------------------
    async def _run(self) -> None:
        backoff = self.settings.kafka.retry_backoff_seconds
        try:
            while not self._stopping.is_set():
                try:
                    await self._connect()
                    backoff = self.settings.kafka.retry_backoff_seconds
                    await self._consume()
                except IngestWorkerDied as exc:
                    # Not a Kafka fault: the worker's windows are replayed from the committed offsets.
                    self.metrics.worker_restarts.labels(self.settings.model).inc()
                    log.warning("ingest worker lost (%s); replaying its open windows", exc)
                    self.probe.set_connected(False)
                    await self._disconnect()
                except (KafkaError, OSError) as exc:  # OSError: sockets and TLS under aiokafka
                    self.probe.set_connected(False)
                    self._count_kafka_errors("consume", 1)
                    self._kafka_log.log(logging.WARNING, "kafka error (%s); retrying in %.1fs", exc, backoff)
                    await self._disconnect()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
                    backoff = min(backoff * 2, self.settings.kafka.retry_backoff_max_seconds)
        finally:
            await self._shutdown()

    async def _connect(self) -> None:
        if self._consumer is not None:
            return
        clients = await KafkaClients.open(self.settings.kafka)
        try:
            await clients.wait_for_topics(list(self.streams), self._stopping,
                                          lambda: self.probe.set_connected(True))
        except BaseException:
            await clients.close()
            raise
        self._consumer, self._producer, self.probe.admin = clients.consumer, clients.producer, clients.admin
        await ensure_dead_letter_topics(clients.admin,
                                        [(t, s.settings.dead_letter_topic) for t, s in self.streams.items()])
        await self.publisher.prepare(clients.admin)
        listener = self.replayer.attach(clients.consumer, clients.admin)
        clients.consumer.subscribe(list(self.streams), listener=listener)
        self.probe.set_connected(True)
        log.info("consuming %s as group %s", ", ".join(self.streams), self.settings.kafka.group_id)

    async def _disconnect(self) -> None:
        # Answers still on their way are applied while the producer exists (their dead letters need it);
        # after a lost worker there is nothing left to apply.
        await self.answers.drain_or_discard()
        consumer, producer, admin = self._consumer, self._producer, self.probe.admin
        self._consumer = self._producer = self.probe.admin = None
        self.replayer.attach(None, None)
        if consumer is not None:
            # The open windows are replayed from the committed offsets after reconnecting. Without a consumer
            # nothing came from Kafka (a failed connect): windows fed over HTTP meanwhile are kept.
            self.replayer.reset_windows()
        # Whatever worker now holds the windows holds only what the reconnect will replay into it.
        self.replayer.adopt_windows()
        if consumer is not None:
            await stop_quietly(consumer.stop())
        if producer is not None:
            await stop_quietly(producer.stop())
        if admin is not None:
            await stop_quietly(admin.close())

    async def _consume(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        k = self.settings.kafka
        in_flight = self.settings.ingest.max_in_flight if isinstance(self.ingest, ProcessIngest) else 0
        while not self._stopping.is_set():
            if self.replayer.windows_lost:
                # A new worker replaced one that held the windows: rebuild them from the committed offsets.
                raise IngestWorkerDied("the ingest worker was replaced; its open windows are replayed")
            epoch = self.replayer.epoch
            batches = await self._fetch(consumer, timeout_ms=max(k.fetch_max_wait_ms, 50),
                                        max_records=k.max_poll_records)
            if self.replayer.stale(epoch):
                self.replayer.replay(consumer, batches)
                continue
            if batches and not in_flight:
                # Ingesting in this process blocks the loop: give aiokafka's fetcher a few turns first so the
                # next fetch request is already on the wire while this batch is processed.
                for _ in range(5):
                    await asyncio.sleep(0)
            async with self._lock:
                for tp, records in batches.items():
                    if records:
                        self.ledger.saw(tp, records[0].offset)
                        for request in ingest_requests(tp, records):
                            await self.answers.submit(request)
                if not batches:
                    await self.answers.submit(Request("tick"))  # idle streams may close windows
                await self.answers.drain(keep=in_flight)
                if self.ledger.commit_due():
                    await self.committer.commit(self._consumer, self._producer)

    async def _fetch(self, consumer: AIOKafkaConsumer, **getmany: Any) -> dict[TopicPartition, list[Any]]:
        """``getmany``, applying the engine's answers as they arrive meanwhile (a closed window is
        published as soon as the worker has judged it, not after the next fetch)."""
        fetch = asyncio.ensure_future(consumer.getmany(**getmany))
        try:
            while True:
                head = self.answers.head()
                await asyncio.wait({fetch} if head is None else {fetch, head}, return_when=asyncio.FIRST_COMPLETED)
                if head is not None and head.done():
                    async with self._lock:
                        await self.answers.drain()
                        if self.ledger.closed_since_commit:
                            await self.committer.commit(self._consumer, self._producer)
                if fetch.done():
                    return fetch.result()
        finally:
            if not fetch.done():
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, KafkaError):
                    await fetch

    async def _shutdown(self) -> None:
        async with self._lock:
            try:
                await self.answers.drain(keep=0)
                future = await self.answers.submit(Request("close_all"))
                await self.answers.drain(until=future)
                await self.committer.commit(self._consumer, self._producer)
            except IngestWorkerDied as exc:
                log.error("could not close the open windows: %s", exc)
                self.answers.discard()
        await self._disconnect()
        self.probe.set_connected(False)

    async def _tick_without_kafka(self) -> None:
        """While no Kafka consumer runs (a cluster fed only over HTTP, or a broker outage), let windows close
        on time and on idle: the consume loop's ticks do it otherwise."""
        while not self._stopping.is_set():
            await asyncio.sleep(IDLE_TICK_SECONDS)
            if self._consumer is not None or self._stopping.is_set():
                continue
            async with self._lock:
                try:
                    await self.answers.submit(Request("tick"))
                    await self.answers.drain(keep=0)
                except IngestWorkerDied:
                    self.answers.discard()  # the loop notices the new worker and replays

    # -- answers from the engine ----------------------------------------------------------------------
    def _apply(self, outcome: Outcome, request: Request) -> None:
        if outcome.ingested is not None:
            stream = self.streams[str(request.topic)]
            self.publisher.count(stream.topic, outcome.ingested)
            tp = request.partition if isinstance(request.partition, TopicPartition) else None
            for err in outcome.ingested.errors:
                msg = request.messages[err.index]
                offset = None if request.offsets is None else int(request.offsets[err.index])
                self.publisher.dead_letter(self._producer, stream, msg, None if tp is None else tp.partition,
                                           offset, err)
        for closed in outcome.closed:
            self.publisher.publish(self.streams[closed.topic], closed, self._producer)
        self.ledger.apply(outcome)
        self.open_windows.update(outcome.open_windows)
        for topic, stream_info in self.streams.items():
            self.metrics.open_windows.labels(self.settings.model, stream_info.contract.name).set(
                len(self.open_windows.get(topic, ())))

    def _count_kafka_errors(self, stage: str, count: int) -> None:
        self.metrics.kafka_errors.labels(self.settings.model, stage).inc(count)
