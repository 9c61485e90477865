"""``record`` format: one row per message, ``{"request_id": .., "timestamp": .., "values": {column: value}}``."""

from __future__ import annotations

from typing import Any

from sidecar.decoders.assemble import JsonBatchBuilder
from sidecar.decoders.base import ErrorClass
from sidecar.decoders.coerce import describe
from sidecar.decoders.pipeline import JsonFormatDecoder
from sidecar.decoders.registry import register_decoder

__all__ = ["RecordDecoder"]


@register_decoder
class RecordDecoder(JsonFormatDecoder):
    """Decode ``record`` messages: the row is the ``values`` object.

    The request id and timestamp are the top-level fields named by ``request_id_key`` and
    ``timestamp_key``; other top-level keys are ignored (they are envelope, not features).

    Examples
    --------
    >>> from sidecar.stats.kinds import ColumnKind
    >>> from sidecar.decoders import RawMessage, make_decoder
    >>> decoder = make_decoder("record", {"age": ColumnKind.NUMERIC})
    >>> body = b'{"request_id": "r1", "timestamp": "2026-11-26T10:00:00Z", "values": {"age": 41}}'
    >>> batch = decoder.decode([RawMessage(body)])
    >>> batch.columns["age"], batch.request_ids, batch.timestamps
    (array([41.]), array(['r1'], dtype=object), array([1.7956872e+09]))
    """

    format_name = "record"

    def collect(self, indexes: list[int], objects: list[dict[str, Any]], builder: JsonBatchBuilder) -> None:
        request_id_key = self.options.request_id_key
        timestamp_key = self.options.timestamp_key
        kept: list[int] = []
        rows: list[dict[str, Any]] = []
        request_ids: list[Any] = []
        timestamps: list[Any] = []
        for index, obj in zip(indexes, objects, strict=True):
            values = obj.get("values")
            if type(values) is not dict:
                got = describe(values) if "values" in obj else "no 'values' key"
                builder.reject(index, ErrorClass.INVALID_SHAPE, f"a record needs a 'values' object, got {got}")
                continue
            kept.append(index)
            rows.append(values)
            request_ids.append(obj.get(request_id_key))
            timestamps.append(obj.get(timestamp_key))
        builder.add_rows(kept, rows, request_ids, timestamps)

    def collect_typed(self, indexes: list[int], structs: list[Any], builder: JsonBatchBuilder) -> None:
        assert self.typed is not None
        rows, request_ids, timestamps = (list(part) for part in zip(*structs, strict=True))
        builder.add_typed_rows(indexes, rows, request_ids, timestamps, self.typed.names)
