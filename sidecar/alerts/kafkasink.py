"""A Kafka topic as an alert sink: one CloudEvent per transition, keyed by series, in order per series.

The sink has its own producer, so the consumer loop's reconnects and the dead-letter producer's state never
delay an alert, and an unreachable broker never delays the loop: :meth:`KafkaAlertSink.submit` appends to a
bounded backlog (the oldest event is dropped and counted when it is full) and a task sends it, retrying
with backoff. Structured-mode CloudEvents: the value is the JSON document, the ``content-type`` header says
``application/cloudevents+json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from sidecar.alerts.backoff import Backoff
from sidecar.alerts.events import AlertEvent
from sidecar.kafka.noise import stop_quietly
from sidecar.logs import RateLimitedLog

__all__ = ["CONTENT_TYPE", "KafkaAlertSink"]

log = logging.getLogger(__name__)

CONTENT_TYPE = b"application/cloudevents+json; charset=utf-8"

#: Called with (result, count): "sent", "failed" (one failed attempt) or "dropped".
Counter = Callable[[str, int], None]


class KafkaAlertSink:
    """Produces alert events to ``topic``. ``start()``/``stop()``; :meth:`submit` never blocks."""

    def __init__(self, topic: str, producer_options: dict[str, Any], *, count: Counter,
                 max_pending: int = 10_000, send_timeout_seconds: float = 10.0) -> None:
        self.topic = topic
        self.producer_options = producer_options
        self.max_pending = max_pending
        self.send_timeout_seconds = send_timeout_seconds
        self._count = count
        self._backlog: deque[AlertEvent] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._producer: AIOKafkaProducer | None = None
        self._backoff = Backoff()
        self._log = RateLimitedLog(log, 60.0)

    @property
    def pending(self) -> int:
        """Events not delivered yet."""
        return len(self._backlog)

    def submit(self, event: AlertEvent) -> None:
        """Queue ``event`` for the topic (dropping, and counting, the oldest when the backlog is full)."""
        if len(self._backlog) >= self.max_pending:
            self._backlog.popleft()
            self._count("dropped", 1)
        self._backlog.append(event)
        self._wake.set()

    async def start(self) -> None:
        """Start the sender task (it connects, and reconnects, by itself)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="alert-topic-sink")

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Send what is pending for up to ``drain_seconds``, then close. Idempotent."""
        task, self._task = self._task, None
        if task is None:
            return
        if self._backlog:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained(), timeout=drain_seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self._close()

    async def _drained(self) -> None:
        while self._backlog:
            await asyncio.sleep(0.05)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._backlog:
                event = self._backlog[0]
                try:
                    producer = await self._connect()
                    await asyncio.wait_for(
                        producer.send_and_wait(self.topic, event.to_json(), key=event.key.encode(),
                                               headers=[("content-type", CONTENT_TYPE)]),
                        timeout=self.send_timeout_seconds)
                except (KafkaError, OSError, TimeoutError) as exc:
                    self._count("failed", 1)
                    wait = self._backoff.next()
                    self._log.log(logging.WARNING, "alert events to topic %s failing (%s); %d pending, retrying "
                                  "in %.1fs", self.topic, exc or type(exc).__name__, len(self._backlog), wait)
                    await self._close()  # a fresh producer next time: its metadata may be stale
                    await asyncio.sleep(wait)
                    continue
                self._backoff.reset()
                if self._backlog and self._backlog[0] is event:
                    self._backlog.popleft()
                self._count("sent", 1)

    async def _connect(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(**self.producer_options, acks="all", enable_idempotence=True)
            try:
                await asyncio.wait_for(producer.start(), timeout=self.send_timeout_seconds)
            except BaseException:
                await stop_quietly(producer.stop())
                raise
            self._producer = producer
        return self._producer

    async def _close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await stop_quietly(producer.stop())
