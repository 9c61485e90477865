"""Dead-letter copies: an undecodable record goes unchanged to ``<topic>.dlq`` with headers saying why.

Header names are Kafka Connect's (``__connect.errors.*``) so existing DLQ tooling reads them.

A copy must be acknowledged before the offsets past its record are committed, or a crash would lose the
record. A copy that fails for a *retriable* reason (broker down, leader moving) is sent again and the commit
waits. One that can never succeed (record too large for the dead-letter topic, not authorised, invalid
topic) would stall commits forever: it goes to a bounded local quarantine under the store directory
instead, is counted in ``model_health_dead_letter_failures_total{reason}``, logged once per reason with its
topic, partition and offset, and the commit moves on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    InvalidTopicError,
    MessageSizeTooLargeError,
    PolicyViolationError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)

from sidecar.decoders import MessageError

__all__ = [
    "PERMANENT_ERRORS",
    "QUARANTINE_DIR",
    "DeadLetter",
    "DeadLetterSender",
    "Quarantine",
    "dead_letter_headers",
    "is_permanent",
]

log = logging.getLogger(__name__)

#: Errors that sending the same copy again cannot cure. Everything else (connection, timeouts, leader
#: changes, unknown errors) is retried: a wrong "permanent" would skip a record, a wrong "retriable" only
#: delays commits.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    TopicAuthorizationFailedError,
    ClusterAuthorizationFailedError,
    InvalidTopicError,
    PolicyViolationError,
)

#: The quarantine's folder inside the store directory (a leading underscore: no model name can clash).
QUARANTINE_DIR = "_quarantine"


def is_permanent(error: BaseException) -> bool:
    """True when sending the same copy again cannot succeed."""
    return isinstance(error, PERMANENT_ERRORS)


def dead_letter_headers(
    original: Sequence[tuple[str, bytes]], topic: str, partition: int | None, offset: int | None, error: MessageError
) -> list[tuple[str, bytes]]:
    """The original headers plus Kafka Connect's error headers for ``error``."""
    extra = {
        "__connect.errors.topic": topic,
        "__connect.errors.partition": "" if partition is None else str(partition),
        "__connect.errors.offset": "" if offset is None else str(offset),
        "__connect.errors.connector.name": "model-health-sidecar",
        "__connect.errors.stage": "VALUE_CONVERTER",
        "__connect.errors.class.name": "sidecar.decoders",
        "__connect.errors.exception.class.name": error.error_class,
        "__connect.errors.exception.message": error.reason[:4000],
    }
    return [*original, *((k, v.encode("utf-8")) for k, v in extra.items())]


@dataclass(frozen=True)
class DeadLetter:
    """One dead-letter copy and where its record came from."""

    topic: str
    value: bytes | None
    key: bytes | None
    headers: list[tuple[str, bytes]]
    source_topic: str
    partition: int | None
    offset: int | None

    @property
    def where(self) -> str:
        """``topic[partition]@offset`` of the original record."""
        return f"{self.source_topic}[{self.partition}]@{self.offset}"


class Quarantine:
    """Copies that cannot be dead-lettered, kept as files: ``<dir>/<topic>/<partition>-<offset>.bin`` (the
    value, unchanged) beside ``.json`` (key, headers, why). At most ``max_bytes`` of values are kept;
    past that only the ``.json`` is written, so a flood of huge records cannot fill the disk."""

    def __init__(self, directory: Path, max_bytes: int = 256 << 20) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._used: int | None = None

    def used_bytes(self) -> int:
        """Bytes of values held (read from disk once, then kept up to date)."""
        if self._used is None:
            self._used = sum(p.stat().st_size for p in self.directory.glob("*/*.bin")) if self.directory.exists() else 0
        return self._used

    def put(self, copy: DeadLetter, reason: str) -> Path:
        """Keep ``copy``; returns the metadata file's path. Raises ``OSError`` if the disk refuses."""
        folder = self.directory / copy.source_topic
        folder.mkdir(parents=True, exist_ok=True)
        if copy.partition is not None and copy.offset is not None:
            stem = f"{copy.partition}-{copy.offset}"
        else:  # fed over HTTP: no Kafka coordinates
            stem = f"http-{uuid.uuid4().hex[:16]}"
        size = len(copy.value or b"")
        kept = self.used_bytes() + size <= self.max_bytes
        if kept and copy.value is not None:
            (folder / f"{stem}.bin").write_bytes(copy.value)
            self._used = self.used_bytes() + size
        meta = {
            "dead_letter_topic": copy.topic, "topic": copy.source_topic, "partition": copy.partition,
            "offset": copy.offset, "reason": reason, "value_bytes": size, "value_kept": kept,
            "key": None if copy.key is None else copy.key.decode("utf-8", "replace"),
            "headers": [[k, v.decode("utf-8", "replace")] for k, v in copy.headers],
        }
        path = folder / f"{stem}.json"
        path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return path


@dataclass
class DeadLetterSender:
    """Sends copies, and settles them before a commit: acknowledged, quarantined, or to be retried."""

    quarantine: Quarantine | None
    #: Called with each copy given up on and the reason (the error's class name): the service counts it.
    on_permanent: Callable[[DeadLetter, str], None] | None = None
    _pending: list[tuple[DeadLetter, asyncio.Future[None]]] = field(default_factory=list)
    _logged: set[tuple[str, str]] = field(default_factory=set)

    def send(self, producer: AIOKafkaProducer, copy: DeadLetter) -> None:
        """Start sending ``copy`` (settled by :meth:`settle`)."""
        self._pending.append((copy, asyncio.ensure_future(_deliver(producer, copy))))

    @property
    def pending(self) -> int:
        """Copies sent and not yet settled."""
        return len(self._pending)

    async def settle(self, producer: AIOKafkaProducer | None) -> list[tuple[DeadLetter, BaseException]]:
        """Wait for every copy sent so far. Permanent failures are quarantined and counted; retriable ones
        are sent again (when a producer is given) and returned: while any are returned, do not commit."""
        sends, self._pending = self._pending, []
        if not sends:
            return []
        results = await asyncio.gather(*(fut for _, fut in sends), return_exceptions=True)
        retry: list[tuple[DeadLetter, BaseException]] = []
        for (copy, _), result in zip(sends, results, strict=True):
            if not isinstance(result, BaseException):
                continue
            if is_permanent(result):
                self._give_up(copy, result)
            else:
                retry.append((copy, result))
        if producer is not None:
            for copy, _ in retry:
                self.send(producer, copy)
        return retry

    def _give_up(self, copy: DeadLetter, error: BaseException) -> None:
        reason = type(error).__name__
        kept: Path | None = None
        if self.quarantine is not None:
            try:
                kept = self.quarantine.put(copy, f"{reason}: {error}")
            except OSError as exc:  # a full or read-only disk: the count and the log still say it
                log.error("could not quarantine %s (%s)", copy.where, exc)
        if self.on_permanent is not None:
            self.on_permanent(copy, reason)
        if (copy.source_topic, reason) not in self._logged:
            self._logged.add((copy.source_topic, reason))
            log.warning(
                "dead letter for %s cannot be delivered to %s (%s: %s)%s; committing past it. Further %s "
                "failures on %s are only counted (model_health_dead_letter_failures_total)",
                copy.where, copy.topic, reason, error, f"; kept in {kept.parent}" if kept else "", reason,
                copy.source_topic,
            )


async def _deliver(producer: AIOKafkaProducer, copy: DeadLetter) -> None:
    """Send and wait for the broker's acknowledgement, so a failed dead-letter copy is seen at commit time."""
    # A tombstone (no value, no key) cannot be produced as is; an empty key keeps the copy "unchanged".
    key = copy.key if copy.key is not None or copy.value is not None else b""
    delivery = await producer.send(copy.topic, value=copy.value, key=key, headers=copy.headers)
    await delivery
