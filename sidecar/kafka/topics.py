"""Dead-letter topics made to fit their source topics, at start-up.

A broker auto-creates ``<topic>.dlq`` on the first copy with its default ``max.message.bytes`` (1 MB). A
source topic that allows 8 MB messages then produces dead letters that can never be copied. So before
consuming, the sidecar creates each dead-letter topic it needs with ``max.message.bytes`` no smaller than
its source topic's, and says so. An existing dead-letter topic with a smaller limit is left alone (the
admin API aiokafka offers replaces a topic's whole dynamic configuration, which is not ours to reset); the
log says how to raise it, and oversized copies go to the local quarantine (:mod:`sidecar.stream.deadletter`).
Any admin failure (no permission, a broker that forbids topic creation) is logged and consuming goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

__all__ = ["MAX_MESSAGE_BYTES", "ensure_dead_letter_topics", "topic_max_message_bytes"]

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = "max.message.bytes"


async def topic_max_message_bytes(admin: AIOKafkaAdminClient, topic: str) -> int | None:
    """The topic's ``max.message.bytes`` (``None`` when the topic does not exist or cannot be described)."""
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    for response in responses:
        for error_code, _message, _type, name, entries in response.resources:
            if name != topic or error_code != 0:
                continue
            for entry in entries:
                if entry[0] == MAX_MESSAGE_BYTES and entry[1] is not None:
                    return int(entry[1])
    return None


async def ensure_dead_letter_topics(admin: AIOKafkaAdminClient, pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """For each ``(source topic, dead-letter topic)``: create the dead-letter topic with the source's
    ``max.message.bytes`` if it is missing. Returns what was done per dead-letter topic (for logs and tests):
    ``created``, ``ok``, ``too small``, ``source missing`` or ``failed: ...``. Never raises for Kafka errors."""
    done: dict[str, str] = {}
    try:
        existing = set(await admin.list_topics())
        brokers = len((await admin.describe_cluster()).get("brokers", ())) or 1
    except KafkaError as exc:
        log.warning("could not list topics to prepare dead-letter topics (%s); the broker will auto-create them",
                    exc)
        return {dlq: f"failed: {exc}" for _, dlq in pairs}
    for source, dlq in pairs:
        try:
            done[dlq] = await _ensure_one(admin, source, dlq, existing, brokers)
        except KafkaError as exc:
            done[dlq] = f"failed: {exc}"
            log.warning("could not prepare dead-letter topic %s (%s); copies larger than its limit will be "
                        "quarantined", dlq, exc)
    return done


async def _ensure_one(admin: AIOKafkaAdminClient, source: str, dlq: str, existing: set[str], brokers: int) -> str:
    if source not in existing:
        return "source missing"  # checked again at the next start; the broker's auto-creation applies meanwhile
    limit = await topic_max_message_bytes(admin, source)
    if dlq in existing:
        have = await topic_max_message_bytes(admin, dlq)
        if limit is not None and have is not None and have < limit:
            log.warning(
                "dead-letter topic %s allows %d-byte messages, its source %s %d: larger bad records cannot be "
                "copied there and are quarantined locally. Raise it with: kafka-configs.sh --alter --entity-type "
                "topics --entity-name %s --add-config %s=%d", dlq, have, source, limit, dlq, MAX_MESSAGE_BYTES, limit)
            return "too small"
        return "ok"
    configs = {MAX_MESSAGE_BYTES: str(limit)} if limit is not None else {}
    partitions = 1
    response = await admin.create_topics([NewTopic(dlq, partitions, min(3, brokers), topic_configs=configs)])
    for _name, error_code, *rest in getattr(response, "topic_errors", ()):
        if error_code not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS (another pod was quicker)
            raise KafkaError(f"create_topics {dlq}: error {error_code} {rest[0] if rest else ''}".strip())
    log.info("created dead-letter topic %s with %s=%s (as its source %s)", dlq, MAX_MESSAGE_BYTES,
             limit if limit is not None else "the broker default", source)
    return "created"
