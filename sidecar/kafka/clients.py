"""The sidecar's three Kafka clients (consumer, dead-letter producer, admin), built from the settings.

Started together and closed together: a client that fails to start takes the others down with it, so a
retry starts from nothing. Before subscribing, :meth:`KafkaClients.wait_for_topics` waits for every topic
to exist: a missing topic is said plainly once, metadata is asked for every second, and consuming starts
within a second or two of the topic's creation (aiokafka alone logs "No partition metadata" errors and
notices the topic only at its next metadata refresh).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from sidecar.config import KafkaSettings
from sidecar.kafka.noise import stop_quietly
from sidecar.kafka.security import KafkaSecurity

__all__ = ["TOPIC_POLL_SECONDS", "KafkaClients", "client_options"]

log = logging.getLogger("sidecar.stream.service")  # the service's voice: its lines filter together

#: How often a missing topic is looked for.
TOPIC_POLL_SECONDS = 1.0
#: Largest dead-letter copy the producer sends (the topic's own limit decides; see kafka.topics).
MAX_REQUEST_BYTES = 16 * 1024 * 1024


def client_options(k: KafkaSettings) -> dict[str, Any]:
    """Connection options every aiokafka client shares: servers, client id, security (:class:`KafkaSecurity`)."""
    return {"bootstrap_servers": k.bootstrap_servers, "client_id": k.client_id,
            **KafkaSecurity.of(k).aiokafka_options()}


@dataclass
class KafkaClients:
    """A started consumer (group member, manual commits), producer and admin client."""

    consumer: AIOKafkaConsumer
    producer: AIOKafkaProducer
    admin: AIOKafkaAdminClient

    @classmethod
    async def open(cls, k: KafkaSettings) -> KafkaClients:
        """Build and start all three; if one fails, the started ones are closed and the error raised."""
        common = client_options(k)
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
        clients = cls(consumer, AIOKafkaProducer(max_request_size=MAX_REQUEST_BYTES, linger_ms=5, **common),
                      AIOKafkaAdminClient(**common))
        try:
            await clients.consumer.start()
            await clients.producer.start()
            await clients.admin.start()
        except BaseException:
            await clients.close()
            raise
        return clients

    async def close(self) -> None:
        """Stop all three, whatever state each is in (errors while stopping are of no use to anyone)."""
        await stop_quietly(self.consumer.stop())
        await stop_quietly(self.producer.stop())
        await stop_quietly(self.admin.close())

    async def wait_for_topics(self, topics: Sequence[str], stopping: asyncio.Event,
                              broker_up: Callable[[], None] | None = None) -> None:
        """Return once every topic exists (or ``stopping`` is set); ``broker_up`` is called on every answer
        from the broker, since only the topic is missing."""
        said = False
        while not stopping.is_set():
            existing = set(await self.admin.list_topics())
            if broker_up is not None:
                broker_up()
            missing = sorted(set(topics) - existing)
            if not missing:
                if said:
                    log.info("topic %s exists now; consuming", ", ".join(sorted(topics)))
                return
            if not said:
                log.info("waiting for topic %s (checking every %.0f s)", ", ".join(missing), TOPIC_POLL_SECONDS)
                said = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=TOPIC_POLL_SECONDS)
