"""Dead-letter copies: an undecodable record goes unchanged to ``<topic>.dlq`` with headers saying why.

Header names are Kafka Connect's (``__connect.errors.*``) so existing DLQ tooling reads them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sidecar.stream.decoders import MessageError

__all__ = ["dead_letter_headers"]


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
        "__connect.errors.class.name": "sidecar.stream.decoders",
        "__connect.errors.exception.class.name": error.error_class,
        "__connect.errors.exception.message": error.reason[:4000],
    }
    return [*original, *((k, v.encode("utf-8")) for k, v in extra.items())]
