"""The faust-streaming app of ``sidecar join``: :func:`create_join_app` builds it from the settings.

Two agents, one per topic (``join.predictions_topic``, ``join.outcomes_topic``; both keyed by request id
and partitioned alike, so faust assigns the same partitions of both, and of the table's changelog, to one
worker), share the durable pair table (``join.store``: ``memory`` or ``rocksdb``, changelog-backed either
way). Each agent takes its events in batches (``join.batch_size``, ``join.batch_seconds``), decodes a
batch at once with the sidecar's decoders, joins it with one read and one write of the table (see
:meth:`~sidecar.join.joiner.Joiner.predictions` and :mod:`sidecar.join.faustcompat`) and hands the batch's
changelog records to the producer in one go (:mod:`sidecar.join.changelog`).
A timer (``join.sweep_seconds``) expires what waited past the TTL (only what fell due, in slices of
:data:`SWEEP_SLICE` entries that yield to the event loop in between), evaluates the windows that
changed and publishes them. After every recovery (start-up, rebalance) the per-window aggregation is
rebuilt from the table, so a restart loses nothing the changelog holds.

Examples
--------
>>> from sidecar.config import Settings
>>> join = create_join_app(Settings(model="churn", join={"http": {"port": 0}}, alerts={"topic": None}))
>>> join.faust.conf.id, join.settings.join.outcomes_topic
('model-health-join-churn', 'churn.outcomes')
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust
import numpy as np
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sidecar.config import JoinSettings, KafkaSettings, Settings
from sidecar.decoders import RawMessage
from sidecar.errors import ConfigurationError
from sidecar.join.changelog import ChangelogOutbox
from sidecar.join.exporter import JoinExporter
from sidecar.join.faustcompat import BATCHES, current_event_scope
from sidecar.join.joiner import JOIN_EVENTS, Half, Joiner, SweepResult
from sidecar.join.records import OutcomeReader, PredictionReader
from sidecar.join.tables import FaustPairStore
from sidecar.join.windows import WindowBook
from sidecar.kafka.security import KafkaSecurity
from sidecar.metrics import JoinMetrics

__all__ = ["SWEEP_SLICE", "JoinApp", "create_join_app", "load_reference"]

#: Entries a sweep removes before it lets the agents run again (about 50 ms of work).
SWEEP_SLICE = 20_000

log = logging.getLogger(__name__)


@dataclass
class JoinApp:
    """The faust app and the objects its agents share (exposed for tests and the benchmark)."""

    settings: Settings
    faust: faust.App
    table: Any
    joiner: Joiner
    book: WindowBook
    metrics: JoinMetrics
    exporter: JoinExporter
    predictions: Any
    outcomes: Any
    clock: Callable[[], float] = time.time
    outbox: ChangelogOutbox | None = None
    _exported: dict[str, int] = field(default_factory=dict)

    def sweep(self) -> SweepResult:
        """Expire everything due at once, evaluate changed windows, publish them and update the counters."""
        return self._published(self.joiner.sweep(self.clock()))

    async def sweep_in_slices(self, limit: int = SWEEP_SLICE) -> SweepResult:
        """The timer's sweep: at most ``limit`` entries at a time, flushing their tombstones and yielding
        to the event loop between slices, so a large expiry never stalls the agents for long."""
        now = self.clock()
        total = SweepResult()
        while True:
            result = self.joiner.sweep(now, limit)
            total.expired += result.expired
            total.orphaned += result.orphaned
            total.forgotten += result.forgotten
            total.pending_predictions, total.pending_outcomes = result.pending_predictions, result.pending_outcomes
            if self.outbox is not None:
                await self.outbox.flush()
            if not result.more:
                return self._published(total)
            await asyncio.sleep(0)

    def _published(self, result: SweepResult) -> SweepResult:
        self.exporter.publish(self.book.evaluate_dirty())
        self.metrics.join_pending.labels(self.settings.model, "prediction").set(result.pending_predictions)
        self.metrics.join_pending.labels(self.settings.model, "outcome").set(result.pending_outcomes)
        self.sync_counts()
        return result

    def sync_counts(self) -> None:
        """Carry the joiner's counts over to ``model_health_join_events_total``."""
        for event in JOIN_EVENTS:
            now = self.joiner.counts[event]
            delta = now - self._exported.get(event, 0)
            if delta:
                self.metrics.join_events.labels(self.settings.model, event).inc(delta)
                self._exported[event] = now

    def exposition(self) -> bytes:
        """The body of the joiner's ``/metrics``: its metric set in the Prometheus text format, counts synced."""
        self.sync_counts()
        return generate_latest(self.metrics.registry)

    def recover(self) -> int:
        """Rebuild the window aggregation from the table; returns the entries read."""
        self.book.windows.clear()
        self.book.dirty.clear()
        n = self.joiner.rebuild()
        log.info("join: rebuilt %d windows from %d table entries", len(self.book.windows), n)
        return n


def load_reference(path: str, settings: JoinSettings) -> Any:
    """Fit the CBPE calibration from a Parquet or CSV file with the score and label columns."""
    import pandas as pd

    from sidecar.join.records import label_value
    from sidecar.performance.cbpe import CBPE

    file = Path(path)
    if not file.is_file():
        raise ConfigurationError(f"join.reference {path!r} is not a file")
    frame = pd.read_parquet(file) if file.suffix.lower() in (".parquet", ".pq") else pd.read_csv(file)
    missing = [c for c in (settings.score_field, settings.label_field) if c not in frame.columns]
    if missing:
        raise ConfigurationError(f"join.reference {path!r} lacks column(s) {missing}; it has {list(frame.columns)}")
    y_score = frame[settings.score_field].to_numpy(dtype=np.float64)
    y_true = np.array([label_value(v) for v in frame[settings.label_field]], dtype=np.float64)
    return CBPE.fit(y_true, y_score, threshold=settings.threshold)


def _broker(k: KafkaSettings) -> dict[str, Any]:
    servers = [s.strip() for s in k.bootstrap_servers.split(",") if s.strip()]
    options: dict[str, Any] = {"broker": ";".join(f"kafka://{s}" for s in servers)}
    credentials = KafkaSecurity.of(k).faust_credentials()
    if credentials is not None:
        options["broker_credentials"] = credentials
    return options


def create_join_app(settings: Settings, *, clock: Callable[[], float] = time.time,
                    notifier: Any | None = None) -> JoinApp:
    """Build the joiner for ``settings`` (which must have a ``join`` section).

    Parameters
    ----------
    settings : model, kafka, join, store, alerts (and optionally the SLA section)
    clock : epoch seconds "now" for the TTL (tests move it)
    notifier : receives SLA reports (default: an :class:`~sidecar.alerts.AlertNotifier` when
        ``alerts`` names a topic or Alertmanager, run as a service of the app)
    """
    join = settings.join
    if join is None:
        raise ConfigurationError("the settings have no 'join' section (sidecar join needs one)")
    model = settings.model
    # The reference first: a bad file is an input error before anything is built.
    estimator = load_reference(join.reference, join) if join.reference and join.task == "classification" else None
    app_id = f"{settings.kafka.group_id}-join" if settings.kafka.group_id != f"model-health-{model}" \
        else f"model-health-join-{model}"
    app = faust.App(
        app_id,
        store="rocksdb://" if join.store == "rocksdb" else "memory://",
        datadir=join.data_dir,
        topic_partitions=join.partitions,
        # Port 0: no HTTP server (faust's web server takes no ephemeral port); tests of the agents need none.
        web_enabled=join.http.port != 0, web_bind=join.http.host, web_port=join.http.port or 6066,
        web_host=join.http.host,
        consumer_auto_offset_reset=settings.kafka.auto_offset_reset,
        autodiscover=False,
        # Our own tables expire by the TTL; faust's windowed-table cleanup has nothing to do.
        table_cleanup_interval=3600.0,
        # Changelog writes batched for 20 ms: one produce request per write would cap the join at the
        # broker round trip (measured: 560 pairs/s without, benchmarks/join_throughput.py).
        producer_linger=0.02,
        broker_session_timeout=join.session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, join.session_timeout_seconds / 3),
        **_broker(settings.kafka),
    )
    metrics = JoinMetrics(model)
    metrics.model_level.init_sla(settings.sla)
    for event in JOIN_EVENTS:
        metrics.join_events.labels(model, event)
    metrics_fn = _metrics_function(join)
    book = WindowBook(join.window_seconds, metrics_fn, estimator, join.min_pairs)
    table = app.Table("pairs", key_type=bytes, value_type=bytes, partitions=join.partitions)  # raw serializers
    store = FaustPairStore(table)
    joiner = Joiner(store, book, join.ttl_seconds)
    if notifier is None and (settings.alerts.topic or settings.alerts.alertmanager_url):
        from sidecar.alerts import AlertNotifier

        notifier = AlertNotifier(settings, metrics.model_level)
        app.service(_service_of(notifier))
    exporter = JoinExporter(settings, metrics, notifier)
    if exporter.events is not None:
        app.service(_service_of(exporter.events))  # the control room's metric events, sent from their own task
    assert join.predictions_topic is not None and join.outcomes_topic is not None  # set by Settings
    # One schema object each: faust updates a channel's schema in place, so a shared one leaks settings.
    predictions_topic = app.topic(join.predictions_topic, schema=_raw_schema())
    outcomes_topic = app.topic(join.outcomes_topic, schema=_raw_schema())
    prediction_reader, outcome_reader = PredictionReader(join), OutcomeReader(join)

    def handle(events: Sequence[faust.EventT], reader: PredictionReader | OutcomeReader,
               add: Callable[[Sequence[Half], int], int]) -> None:
        messages = [RawMessage(e.message.value, _headers(e.message.headers), _millis(e.message.timestamp),
                               e.message.key) for e in events]
        halves, rejected = reader.read_batch(messages)
        joiner.counts["invalid"] += rejected
        if halves:
            add(halves, events[-1].message.partition)  # isolated partitions: the batch's only one

    def agent(reader: PredictionReader | OutcomeReader, add: Callable[[Sequence[Half], int], int]) -> Any:
        # The agents never await between reading an entry and writing it, and never yield (a yielding agent
        # costs faust a sink dispatch per event). See sidecar.join.faustcompat for why batches need it.
        # The batch's changelog records are handed to the producer before the next batch is taken.
        if BATCHES:
            async def batches(stream: faust.Stream[bytes]) -> None:
                async for events in stream.take_events(join.batch_size, within=join.batch_seconds):
                    with current_event_scope(events[-1]):
                        handle(events, reader, add)
                    await store.outbox.flush()
            return batches

        async def one_by_one(stream: faust.StreamT[bytes]) -> None:
            async for event in stream.events():
                handle([event], reader, add)
                await store.outbox.flush()
        return one_by_one

    predictions_agent = app.agent(predictions_topic, name="predictions", isolated_partitions=BATCHES)(
        agent(prediction_reader, joiner.predictions))
    outcomes_agent = app.agent(outcomes_topic, name="outcomes", isolated_partitions=BATCHES)(
        agent(outcome_reader, joiner.outcomes))
    joined = JoinApp(settings, app, table, joiner, book, metrics, exporter, predictions_agent, outcomes_agent,
                     clock, store.outbox)

    @table.on_recover
    async def _recovered() -> None:
        joined.recover()

    @app.timer(join.sweep_seconds)
    async def _sweep() -> None:
        await joined.sweep_in_slices()

    @app.page("/metrics")
    async def _metrics(web: Any, request: Any) -> Any:
        return web.bytes(joined.exposition(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    async def _healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "model": model})

    return joined


def _metrics_function(join: JoinSettings) -> Callable[[np.ndarray, np.ndarray], dict[str, float]]:
    from sidecar.performance import realized

    if join.task == "regression":
        return realized.regression_metrics
    threshold = join.threshold

    def classification(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
        return realized.classification_metrics(y_true, y_score, threshold=threshold)

    return classification


def _raw_schema() -> faust.Schema:
    """Bytes in, bytes out: the records are decoded by the sidecar's decoders, entries by the join."""
    return faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


def _millis(timestamp: float | None) -> int | None:
    return None if timestamp is None else int(timestamp * 1000)


def _headers(headers: Any) -> tuple[tuple[str, bytes], ...]:
    if not headers:
        return ()
    items = headers.items() if isinstance(headers, dict) else headers
    return tuple((str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in items)


def _service_of(notifier: Any) -> type[Service]:
    class NotifierService(Service):
        """Runs a sender (the alert notifier's sinks, the control room's events) for as long as the app runs."""

        async def on_start(self) -> None:
            await notifier.start()

        async def on_stop(self) -> None:
            await notifier.stop()

    return NotifierService
