"""The pod's report events for the control room (``sidecar serve``): every closed window, over Kafka or HTTP.

Chosen by ``publish:`` (:class:`~sidecar.config.PublishSettings`), on by default:

- **Kafka** (no ``control_url``): each closed window's :class:`~sidecar.report.event.ReportEvent`
  (``source: window``, the pod's name, the report) goes to ``reports_topic``, key = model, through the
  consumer loop's own producer, and the commit waits for it as for a dead-letter copy
  (:class:`ReportOutbox`, settled by :class:`~sidecar.stream.ledger.Committer`): the offsets past a window
  are committed only once its report event is acknowledged, so the report event is part of "published"
  (DESIGN.md section 4) and a crash re-sends it (the control room stores it once: its id is derived from
  model, contract, version, pod and window). A retriable failure (broker down, leader moving) is sent again
  and holds the commit. One that can never succeed (too large, not authorised, the topic missing and not
  creatable) is counted ``dropped``, logged once per reason, and the commit moves on: the control room is a
  side output, and holding the model's own monitoring hostage to it would be worse. The topic is created at
  connect when missing (:func:`ensure_topic`), with room for large reports.
- **HTTP** (``control_url`` set, for a cluster without Kafka): the event is handed to an
  :class:`~sidecar.stream.sink.EventSink`, which POSTs it to ``{control_url}/api/v1/reports`` with the
  token from its own task, with backoff and a bounded backlog. The consumer loop never waits for it; what
  cannot be delivered is counted ``dropped``.

Every outcome is counted in ``model_health_published_events_total{model, event="report", target, result}``.
Profile events (``profiles_topic``, for the fleet view) are not sent yet. :func:`metric_sink` and
:func:`metric_letter` are the same way out for the joiner's metric events (``metrics_topic`` or
``/api/v1/metrics``), always from a sink's task: a metric point is an idempotent upsert that no commit
waits for.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError

from sidecar.config import PublishSettings, Settings
from sidecar.kafka.clients import client_options
from sidecar.kafka.topics import MAX_MESSAGE_BYTES
from sidecar.logs import RateLimitedLog
from sidecar.metrics import ModelMetrics
from sidecar.report.event import ReportEvent
from sidecar.report.model import ValidationReport
from sidecar.store.base import MetricEvent
from sidecar.stream.deadletter import is_permanent
from sidecar.stream.sink import EventCounter, EventSink, HttpTarget, KafkaTarget, Letter

__all__ = [
    "REPORT_TOPIC_MAX_BYTES",
    "REPORT_TOPIC_PARTITIONS",
    "STOP_DRAIN_SECONDS",
    "ReportOutbox",
    "ReportPublisher",
    "ensure_topic",
    "event_counter",
    "metric_letter",
    "metric_sink",
    "pod_name",
    "report_letter",
]

log = logging.getLogger(__name__)

#: How long a stopping sidecar tries to deliver its last report events over HTTP: SIGTERM's grace period
#: (10 s in the manifests) must also cover closing the open windows.
STOP_DRAIN_SECONDS = 2.0
#: Partitions of a reports topic this sidecar creates (the control room's consumers share them).
REPORT_TOPIC_PARTITIONS = 3
#: ``max.message.bytes`` of a reports topic this sidecar creates: the REST API's default body limit.
REPORT_TOPIC_MAX_BYTES = 8 * 1024 * 1024


def pod_name(publish: PublishSettings) -> str:
    """``publish.pod`` (``SIDECAR_PUBLISH__POD``, from the downward API), else the host name, which Kubernetes
    sets to the pod's name."""
    return publish.pod or socket.gethostname()


def report_letter(model: str, pod: str | None, report: ValidationReport, topic: str) -> Letter:
    """A window's report event, its id fixed at birth (:meth:`ReportEvent.report_id`), ready to send."""
    event = ReportEvent(model=model, source="window", pod=pod, report=report)
    event = event.model_copy(update={"id": event.report_id()})
    what = f"report of {model}/{report.contract} {report.window_start}..{report.window_end}"
    return Letter("report", topic, model.encode("utf-8"), event.model_dump_json().encode("utf-8"), what)


def metric_letter(event: MetricEvent, topic: str) -> Letter:
    """A metric event ready to send (key = model)."""
    what = f"{event.kind} {event.metric} of {event.model} ({len(event.points)} points)"
    return Letter("metric", topic, event.model.encode("utf-8"), event.model_dump_json().encode("utf-8"), what)


def metric_sink(settings: Settings, metrics: ModelMetrics) -> EventSink | None:
    """Where a joiner's metric events go as ``settings.publish`` says (``None``: publishing is off)."""
    p = settings.publish
    if p.over_http:
        assert p.control_url is not None
        return EventSink(HttpTarget(p.control_url, p.bearer(), p.timeout_seconds),
                         event_counter(metrics, "http", ("metric",)), max_pending=p.max_pending)
    if p.over_kafka:
        return EventSink(KafkaTarget(client_options(settings.kafka)), event_counter(metrics, "kafka", ("metric",)),
                         max_pending=p.max_pending)
    return None


def event_counter(metrics: ModelMetrics, target: str, events: tuple[str, ...] = ("report",)) -> EventCounter:
    """``model_health_published_events_total`` for ``target``, its series created at 0."""
    counter, model = metrics.published_events, metrics.model
    for event in events:
        for result in ("sent", "failed", "dropped"):
            counter.labels(model, event, target, result)

    def count(event: str, result: str, n: int) -> None:
        counter.labels(model, event, target, result).inc(n)

    return count


async def ensure_topic(admin: AIOKafkaAdminClient, topic: str, partitions: int = REPORT_TOPIC_PARTITIONS,
                       max_message_bytes: int = REPORT_TOPIC_MAX_BYTES) -> str:
    """Create ``topic`` if it is missing; returns ``ok``, ``created`` or ``failed: ...`` (never raises for
    Kafka errors: a broker that forbids it may still auto-create the topic, or an admin may)."""
    try:
        if topic in set(await admin.list_topics()):
            return "ok"
        brokers = len((await admin.describe_cluster()).get("brokers", ())) or 1
        response = await admin.create_topics([NewTopic(topic, partitions, min(3, brokers),
                                                       topic_configs={MAX_MESSAGE_BYTES: str(max_message_bytes)})])
        for _name, error_code, *rest in getattr(response, "topic_errors", ()):
            if error_code not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS (another pod was quicker)
                raise KafkaError(f"create_topics {topic}: error {error_code} {rest[0] if rest else ''}".strip())
    except KafkaError as exc:
        log.warning("could not create topic %s (%s); report events wait for it to exist", topic, exc)
        return f"failed: {exc}"
    log.info("created topic %s (%d partitions, %s=%d)", topic, partitions, MAX_MESSAGE_BYTES, max_message_bytes)
    return "created"


class ReportOutbox:
    """Report events sent by the consumer loop's producer and settled before each commit.

    Parameters
    ----------
    count
        ``(event, result, n)``: ``sent`` when acknowledged, ``failed`` per failed attempt, ``dropped``.
    max_unsent
        Events held while there is no producer (Kafka not reachable yet); past it the oldest is dropped.
    """

    def __init__(self, count: EventCounter, max_unsent: int = 100) -> None:
        self._count = count
        self.max_unsent = max_unsent
        self._pending: list[tuple[Letter, asyncio.Future[None]]] = []
        self._unsent: deque[Letter] = deque()
        self._missing: set[str] = set()
        self._logged: set[str] = set()
        self._log = RateLimitedLog(log, 60.0)

    @property
    def pending(self) -> int:
        """Events not settled yet (in flight or waiting for a producer)."""
        return len(self._pending) + len(self._unsent)

    def send(self, producer: AIOKafkaProducer | None, letter: Letter) -> None:
        """Start sending ``letter`` (or hold it until a producer exists); :meth:`settle` collects the result."""
        if letter.topic in self._missing:
            self._count(letter.event, "dropped", 1)
            self._log.log(logging.WARNING, "topic %s does not exist and could not be created: dropping %s",
                          letter.topic, letter.what)
            return
        if producer is None:
            if len(self._unsent) >= self.max_unsent:
                dropped = self._unsent.popleft()
                self._count(dropped.event, "dropped", 1)
                self._log.log(logging.WARNING, "no Kafka producer yet and %d report events held: dropping %s",
                              self.max_unsent, dropped.what)
            self._unsent.append(letter)
            return
        while self._unsent:
            self._start(producer, self._unsent.popleft())
        self._start(producer, letter)

    def _start(self, producer: AIOKafkaProducer, letter: Letter) -> None:
        self._pending.append((letter, asyncio.ensure_future(_deliver(producer, letter))))

    async def settle(self, producer: AIOKafkaProducer | None) -> list[tuple[Letter, BaseException]]:
        """Wait for every event sent so far. Returns the retriable failures (sent again when a producer is
        given): while any are returned, do not commit. Permanent failures are counted and logged."""
        if producer is not None:
            while self._unsent:
                self._start(producer, self._unsent.popleft())
        sends, self._pending = self._pending, []
        if not sends:
            return []
        results = await asyncio.gather(*(fut for _, fut in sends), return_exceptions=True)
        retry: list[tuple[Letter, BaseException]] = []
        for (letter, _), result in zip(sends, results, strict=True):
            if not isinstance(result, BaseException):
                self._count(letter.event, "sent", 1)
            elif isinstance(result, asyncio.CancelledError):
                raise result
            elif is_permanent(result) or isinstance(result, UnknownTopicOrPartitionError):
                self._give_up(letter, result)
            else:
                self._count(letter.event, "failed", 1)
                retry.append((letter, result))
        for letter, _ in retry:
            if producer is not None:
                self._start(producer, letter)
            else:
                self._unsent.appendleft(letter)
        return retry

    def topic_ready(self, topic: str, state: str) -> None:
        """What :func:`ensure_topic` found at connect: a topic that exists is sent to again."""
        if state.startswith("failed"):
            return  # unknown: the first send says (UnknownTopicOrPartitionError after the metadata timeout)
        self._missing.discard(topic)

    def _give_up(self, letter: Letter, error: BaseException) -> None:
        self._count(letter.event, "dropped", 1)
        reason = type(error).__name__
        if isinstance(error, UnknownTopicOrPartitionError):
            self._missing.add(letter.topic)  # until the next connect finds it: no 40 s metadata wait per window
        if reason not in self._logged:
            self._logged.add(reason)
            log.error("report event %s cannot be delivered to topic %s (%s: %s); committing past it. Further %s "
                      "failures are only counted (model_health_published_events_total{result=\"dropped\"})",
                      letter.what, letter.topic, reason, error, reason)


async def _deliver(producer: AIOKafkaProducer, letter: Letter) -> None:
    delivery = await producer.send(letter.topic, value=letter.body, key=letter.key,
                                   headers=[("content-type", b"application/json")])
    await delivery


class ReportPublisher:
    """A sidecar's report events, as ``settings.publish`` says: Kafka through :class:`ReportOutbox`, or HTTP
    through an :class:`EventSink`, or neither (``enabled: false``).

    ``start()``/``stop()`` run the HTTP sender (nothing to run for Kafka); :meth:`pending` and :meth:`settle`
    are what a commit waits for.
    """

    def __init__(self, settings: Settings, metrics: ModelMetrics) -> None:
        p = settings.publish
        self.model = settings.model
        self.settings = p
        self.pod = pod_name(p)
        self.outbox: ReportOutbox | None = None
        self.sink: EventSink | None = None
        self._log = RateLimitedLog(log, 60.0)
        self._count: EventCounter = lambda event, result, n: None
        if p.over_kafka:
            self._count = event_counter(metrics, "kafka")
            self.outbox = ReportOutbox(self._count, max_unsent=p.max_pending)
        elif p.over_http:
            assert p.control_url is not None
            self._count = event_counter(metrics, "http")
            self.sink = EventSink(HttpTarget(p.control_url, p.bearer(), p.timeout_seconds), self._count,
                                  max_pending=p.max_pending)

    def publish(self, report: ValidationReport, producer: AIOKafkaProducer | None) -> None:
        """Send a closed window's report event (never blocks)."""
        if self.outbox is None and self.sink is None:
            return
        try:
            letter = report_letter(self.model, self.pod, report, self.settings.reports_topic)
        except ValueError as exc:  # pydantic: a model or pod name the event format does not take
            self._count("report", "dropped", 1)
            self._log.log(logging.ERROR, "cannot make a report event of %s: %s", report.contract, exc)
            return
        if self.outbox is not None:
            self.outbox.send(producer, letter)
        elif self.sink is not None:
            self.sink.submit(letter)

    async def prepare(self, admin: AIOKafkaAdminClient) -> None:
        """At connect: create the reports topic if it is missing (Kafka only)."""
        if self.outbox is not None:
            topic = self.settings.reports_topic
            self.outbox.topic_ready(topic, await ensure_topic(admin, topic))

    @property
    def pending(self) -> int:
        """Kafka report events not settled yet."""
        return 0 if self.outbox is None else self.outbox.pending

    async def settle(self, producer: AIOKafkaProducer | None) -> list[tuple[Letter, BaseException]]:
        """See :meth:`ReportOutbox.settle`."""
        return [] if self.outbox is None else await self.outbox.settle(producer)

    async def start(self) -> None:
        """Start the HTTP sender, if any."""
        if self.sink is not None:
            await self.sink.start()

    async def stop(self) -> None:
        """Deliver what is pending over HTTP for up to :data:`STOP_DRAIN_SECONDS` and stop. Idempotent."""
        if self.sink is not None:
            await self.sink.stop(drain_seconds=STOP_DRAIN_SECONDS)
