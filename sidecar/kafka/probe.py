"""Whether the brokers answer: :class:`KafkaProbe` keeps ``model_health_kafka_up`` honest.

aiokafka retries a lost broker silently inside ``getmany``, so a consumer loop alone never notices an
outage. The probe asks the cluster for its metadata every :data:`PROBE_INTERVAL_SECONDS` through the admin
client it is given (none while disconnected), and says what it learnt through a gauge (1 up, 0 down) and
a counter of failed probes. It only observes: the loop that owns the clients reconnects them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

__all__ = ["PROBE_INTERVAL_SECONDS", "KafkaProbe"]

log = logging.getLogger("sidecar.stream.service")  # the service's voice: its lines filter together

#: How often the broker is probed (and how long a probe may take).
PROBE_INTERVAL_SECONDS = 5.0


class Gauge(Protocol):
    """A labelled Prometheus gauge (``Gauge.labels(...)``)."""

    def set(self, value: float) -> None: ...


class Counter(Protocol):
    """A labelled Prometheus counter (``Counter.labels(...)``)."""

    def inc(self, amount: float = 1) -> None: ...


class KafkaProbe:
    """Probes the brokers through ``admin`` while one is attached; ``start()``/``stop()`` or ``async with``.

    Parameters
    ----------
    up
        Set to 1 when the brokers answer, 0 when they do not (``model_health_kafka_up{model}``).
    errors
        Counts failed probes (``model_health_kafka_errors_total{model, stage="probe"}``).
    interval_seconds
        Time between probes, and how long one may take.
    """

    def __init__(self, up: Gauge, errors: Counter, interval_seconds: float = PROBE_INTERVAL_SECONDS) -> None:
        self._up = up
        self._errors = errors
        self.interval_seconds = interval_seconds
        #: The admin client probed; the owner of the clients sets it on connecting and clears it on closing.
        self.admin: AIOKafkaAdminClient | None = None
        self.connected = False
        self._task: asyncio.Task[None] | None = None

    def set_connected(self, up: bool) -> None:
        """Record what the owner of the clients learnt itself (connected, or a Kafka error)."""
        self.connected = up
        self._up.set(1 if up else 0)

    async def start(self) -> None:
        """Start probing in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kafka-probe")

    async def stop(self) -> None:
        """Stop probing (the connection state stays as last seen). Idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # Waits without raising the task's own cancellation; a cancellation of stop() itself propagates.
            await asyncio.wait({task})

    async def __aenter__(self) -> KafkaProbe:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _run(self) -> None:
        while True:
            admin = self.admin
            if admin is not None:
                try:
                    await asyncio.wait_for(admin.describe_cluster(), self.interval_seconds)
                    self.set_connected(True)
                except (KafkaError, TimeoutError, OSError) as exc:
                    if self.connected:
                        log.warning("kafka unreachable (%s); consuming resumes when it is back", exc or "timeout")
                    self._errors.inc()
                    self.set_connected(False)
            await asyncio.sleep(self.interval_seconds)
