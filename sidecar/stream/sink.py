"""Events for the control room sent from a task of their own: :class:`EventSink` and its two targets.

:meth:`EventSink.submit` only appends to a bounded backlog, so the loop that produces events (the sidecar's
consumer loop, the joiner's sweep) never waits for the control room. A task sends the backlog in order to
its target, a Kafka topic (:class:`KafkaTarget`, a producer of its own) or the control room's REST API
(:class:`HttpTarget`, ``POST {control_url}/api/v1/reports`` or ``/metrics`` with a Bearer token), retrying
with exponential backoff while the target is unreachable or overloaded. What cannot be delivered is
counted ``dropped``: the oldest event when the backlog is full, and an event the target refuses for good
(Kafka: too large, not authorised; HTTP: 400/401/403/404/413/422). A refusal is logged once per reason
with what it was about, further ones of the same reason only counted, since the same token or the same
limit refuses every event alike. Events are idempotent at the control room (upsert by report id, by
metric point time), so a retried one that had arrived after all is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import aiohttp
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from sidecar.alerts.backoff import Backoff
from sidecar.errors import PublishError
from sidecar.kafka.noise import stop_quietly
from sidecar.logs import RateLimitedLog
from sidecar.report.publish import METRICS_PATH, REPORTS_PATH, refusal
from sidecar.stream.deadletter import is_permanent

__all__ = ["EventCounter", "EventKind", "EventSink", "HttpTarget", "KafkaTarget", "Letter", "Target"]

log = logging.getLogger(__name__)

EventKind = Literal["report", "metric"]
#: Called with (event kind, result, count); results: ``sent``, ``failed`` (one failed attempt), ``dropped``.
EventCounter = Callable[[str, str, int], None]

#: Largest event the Kafka producers send (the topic's own limit decides; the REST API's default is 8 MiB).
MAX_REQUEST_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Letter:
    """One event on its way: the JSON ``body``, its Kafka ``topic`` and ``key``, and ``what`` for the logs."""

    event: EventKind
    topic: str
    key: bytes
    body: bytes
    what: str

    @property
    def path(self) -> str:
        """Where the REST API takes it."""
        return REPORTS_PATH if self.event == "report" else METRICS_PATH


class Target(Protocol):
    """Where an :class:`EventSink` delivers: ``deliver`` raises on failure, ``permanent`` says whether sending
    the same event again could succeed."""

    name: str

    async def deliver(self, letter: Letter) -> None: ...

    def permanent(self, error: BaseException) -> bool: ...

    async def close(self) -> None: ...


class KafkaTarget:
    """A producer of its own (idempotent, ``acks=all``), started on the first event and again after a failure."""

    name = "kafka"

    def __init__(self, producer_options: dict[str, Any], timeout_seconds: float = 30.0) -> None:
        self.producer_options = producer_options
        self.timeout_seconds = timeout_seconds
        self._producer: AIOKafkaProducer | None = None

    async def deliver(self, letter: Letter) -> None:
        """Send ``letter`` to its topic and wait for the acknowledgement."""
        if self._producer is None:
            producer = AIOKafkaProducer(**self.producer_options, acks="all", enable_idempotence=True,
                                        max_request_size=MAX_REQUEST_BYTES, linger_ms=5)
            try:
                await asyncio.wait_for(producer.start(), timeout=self.timeout_seconds)
            except BaseException:
                await stop_quietly(producer.stop())
                raise
            self._producer = producer
        try:
            await asyncio.wait_for(self._producer.send_and_wait(
                letter.topic, letter.body, key=letter.key, headers=[("content-type", b"application/json")]),
                timeout=self.timeout_seconds)
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError) and not self.permanent(exc):
                await self.close()  # a fresh producer next time: its metadata may be stale
            raise

    def permanent(self, error: BaseException) -> bool:
        """Too large, not authorised, invalid topic: see :data:`sidecar.stream.deadletter.PERMANENT_ERRORS`."""
        return is_permanent(error)

    async def close(self) -> None:
        """Stop the producer, if started."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await stop_quietly(producer.stop())


class HttpTarget:
    """The control room's REST API: ``POST {base_url}{letter.path}`` with ``Authorization: Bearer <token>``."""

    name = "http"

    def __init__(self, base_url: str, token: str | None, timeout_seconds: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_seconds = timeout_seconds
        self._session: aiohttp.ClientSession | None = None

    async def deliver(self, letter: Letter) -> None:
        """POST ``letter``; raises :class:`PublishError` (``status`` None: no answer)."""
        if self._session is None:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            self._session = aiohttp.ClientSession(headers=headers,
                                                  timeout=aiohttp.ClientTimeout(total=self.timeout_seconds))
        url = self.base_url + letter.path
        try:
            async with self._session.post(url, data=letter.body) as response:
                answer = await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise PublishError(f"POST {url} ({letter.what}): no answer ({exc or type(exc).__name__})") from exc
        if 200 <= status < 300:
            return
        refused = refusal(status, answer, url, letter.what, len(letter.body))
        if refused is not None:
            raise refused
        raise PublishError(f"POST {url} ({letter.what}): {status}, will retry", status=None)

    def permanent(self, error: BaseException) -> bool:
        """A refusal (an answer that sending again cannot change)."""
        return isinstance(error, PublishError) and error.status is not None

    async def close(self) -> None:
        """Close the HTTP session."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class EventSink:
    """Sends events to ``target`` from its own task. ``start()``/``stop()`` or ``async with``; :meth:`submit`
    never blocks.

    Parameters
    ----------
    target
        A :class:`KafkaTarget` or :class:`HttpTarget`.
    count
        ``(event kind, result, n)``: ``model_health_published_events_total``.
    max_pending
        Events held while the target is unreachable; past it the oldest is dropped (and counted).
    backoff
        Pacing of retries (default 0.5 s doubling to 30 s).
    """

    def __init__(self, target: Target, count: EventCounter, *, max_pending: int = 100,
                 backoff: Backoff | None = None) -> None:
        self.target = target
        self.max_pending = max_pending
        self._count = count
        self._backlog: deque[Letter] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._backoff = backoff or Backoff()
        self._log = RateLimitedLog(log, 60.0)
        self._refusals: set[str] = set()

    @property
    def pending(self) -> int:
        """Events not delivered yet."""
        return len(self._backlog)

    def submit(self, letter: Letter) -> None:
        """Queue ``letter`` (dropping, and counting, the oldest when the backlog is full)."""
        if len(self._backlog) >= self.max_pending:
            dropped = self._backlog.popleft()
            self._count(dropped.event, "dropped", 1)
            self._log.log(logging.WARNING, "control room events backlog full (%d): dropping the oldest (%s); "
                          "model_health_published_events_total{result=\"dropped\"} counts them",
                          self.max_pending, dropped.what)
        self._backlog.append(letter)
        self._wake.set()

    async def start(self) -> None:
        """Start the sender task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"control-events-{self.target.name}")

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Send what is pending for up to ``drain_seconds``, then stop; what is left is counted dropped.
        Idempotent."""
        task, self._task = self._task, None
        if task is None:
            return
        if self._backlog:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained(), timeout=drain_seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self.target.close()
        for letter in self._backlog:
            self._count(letter.event, "dropped", 1)
        if self._backlog:
            log.warning("stopping with %d control room events undelivered (counted as dropped)", len(self._backlog))
        self._backlog.clear()

    async def __aenter__(self) -> EventSink:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _drained(self) -> None:
        while self._backlog:
            await asyncio.sleep(0.02)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._backlog:
                letter = self._backlog[0]
                try:
                    await self.target.deliver(letter)
                except (KafkaError, PublishError, OSError, TimeoutError) as exc:
                    if self.target.permanent(exc):
                        self._refused(letter, exc)
                        continue
                    self._count(letter.event, "failed", 1)
                    wait = self._backoff.next()
                    self._log.log(logging.WARNING, "control room events to %s failing (%s); %d pending, retrying "
                                  "in %.1fs", self.target.name, exc or type(exc).__name__, len(self._backlog), wait)
                    await asyncio.sleep(wait)
                    continue
                self._backoff.reset()
                self._done(letter)
                self._count(letter.event, "sent", 1)

    def _done(self, letter: Letter) -> None:
        if self._backlog and self._backlog[0] is letter:
            self._backlog.popleft()

    def _refused(self, letter: Letter, error: BaseException) -> None:
        self._done(letter)
        self._count(letter.event, "dropped", 1)
        reason = f"{type(error).__name__}:{getattr(error, 'status', '')}"
        if reason not in self._refusals:
            self._refusals.add(reason)
            log.error("%s to %s refused (%s); dropping it. Further %s refusals are only counted "
                      "(model_health_published_events_total{result=\"dropped\"})", letter.what, self.target.name,
                      error or type(error).__name__, reason)
