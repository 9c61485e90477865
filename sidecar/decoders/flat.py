"""``flat`` format: one row per message, the message is a plain JSON object of columns."""

from __future__ import annotations

from typing import Any

from sidecar.decoders.assemble import JsonBatchBuilder
from sidecar.decoders.pipeline import JsonFormatDecoder
from sidecar.decoders.registry import register_decoder

__all__ = ["FlatDecoder"]


@register_decoder
class FlatDecoder(JsonFormatDecoder):
    """Decode ``flat`` messages: every key is a column, except the request id and timestamp keys.

    Those two keys are metadata: they are never counted as unknown columns, and they feed a column only
    if the contract itself has a column of that name. Without them the request id comes from the
    CloudEvent id or a ``request_id`` header, and the time from the CloudEvent time, the Kafka record
    timestamp, or the clock.

    Examples
    --------
    >>> from sidecar.stats.kinds import ColumnKind
    >>> from sidecar.decoders import RawMessage, make_decoder
    >>> decoder = make_decoder("flat", {"age": ColumnKind.NUMERIC})
    >>> batch = decoder.decode([RawMessage(b'{"age": 41, "zip": "10115"}', timestamp_ms=1_000)])
    >>> batch.columns["age"], batch.timestamps, batch.unknown_columns
    (array([41.]), array([1.]), {'zip': 1})
    """

    format_name = "flat"

    def collect(self, indexes: list[int], objects: list[dict[str, Any]], builder: JsonBatchBuilder) -> None:
        request_id_key = self.options.request_id_key
        timestamp_key = self.options.timestamp_key
        builder.add_rows(
            indexes,
            objects,
            [obj.get(request_id_key) for obj in objects],
            [obj.get(timestamp_key) for obj in objects],
            ignored=frozenset({request_id_key, timestamp_key}),
        )

    def collect_typed(self, indexes: list[int], structs: list[Any], builder: JsonBatchBuilder) -> None:
        assert self.typed is not None
        rows, request_ids, timestamps = (list(part) for part in zip(*structs, strict=True))
        builder.add_typed_rows(indexes, rows, request_ids, timestamps, self.typed.names)
