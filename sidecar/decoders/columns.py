"""``columns`` format: many rows per message, ``{"request_id": .., "timestamp": .., "columns": {c: [..]}}``."""

from __future__ import annotations

from typing import Any

from sidecar.decoders.assemble import JsonBatchBuilder
from sidecar.decoders.base import ErrorClass, Rejected
from sidecar.decoders.coerce import describe
from sidecar.decoders.pipeline import JsonFormatDecoder
from sidecar.decoders.registry import register_decoder

__all__ = ["ColumnsDecoder", "per_row"]


@register_decoder
class ColumnsDecoder(JsonFormatDecoder):
    """Decode ``columns`` messages: every list in ``columns`` is one column, all of the same length.

    ``request_id`` and ``timestamp`` (the configured keys) are either one value for every row of the
    message or a list with one value per row.

    Examples
    --------
    >>> from sidecar.stats.kinds import ColumnKind
    >>> from sidecar.decoders import RawMessage, make_decoder
    >>> decoder = make_decoder("columns", {"age": ColumnKind.NUMERIC, "plan": ColumnKind.CATEGORICAL})
    >>> body = b'{"request_id": ["a", "b"], "timestamp": 5, "columns": {"age": [41, null], "plan": [1, "1"]}}'
    >>> batch = decoder.decode([RawMessage(body)])
    >>> batch.columns["age"], batch.columns["plan"], batch.request_ids, batch.timestamps
    (array([41., nan]), array([1, '1'], dtype=object), array(['a', 'b'], dtype=object), array([5., 5.]))
    """

    format_name = "columns"

    def collect(self, indexes: list[int], objects: list[dict[str, Any]], builder: JsonBatchBuilder) -> None:
        request_id_key = self.options.request_id_key
        timestamp_key = self.options.timestamp_key
        for index, obj in zip(indexes, objects, strict=True):
            try:
                columns, n_rows = _columns(obj)
                request_ids = per_row(obj.get(request_id_key), n_rows, request_id_key)
                timestamps = per_row(obj.get(timestamp_key), n_rows, timestamp_key)
            except Rejected as rejected:
                builder.reject(index, rejected.error_class, rejected.reason)
                continue
            builder.add_columns(index, n_rows, columns, request_ids, timestamps)

    def collect_typed(self, indexes: list[int], structs: list[Any], builder: JsonBatchBuilder) -> None:
        assert self.typed is not None
        request_id_key = self.options.request_id_key
        timestamp_key = self.options.timestamp_key
        names = self.typed.names
        for index, (values, n_rows, request_id, timestamp) in zip(indexes, structs, strict=True):
            columns = {name: column for name, column in zip(names, values, strict=True) if column is not None}
            try:
                request_ids = per_row(request_id, n_rows, request_id_key)
                timestamps = per_row(timestamp, n_rows, timestamp_key)
            except Rejected as rejected:
                builder.reject(index, rejected.error_class, rejected.reason)
                continue
            builder.add_columns(index, n_rows, columns, request_ids, timestamps, trusted=True)


def _columns(obj: dict[str, Any]) -> tuple[dict[str, list[Any]], int]:
    columns = obj.get("columns")
    if type(columns) is not dict:
        got = describe(columns) if "columns" in obj else "no 'columns' key"
        raise Rejected(ErrorClass.INVALID_SHAPE, f"a column batch needs a 'columns' object, got {got}")
    n_rows: int | None = None
    first = ""
    for name, values in columns.items():
        if type(values) is not list:
            raise Rejected(
                ErrorClass.INVALID_SHAPE, f"column {name!r} must be a list of values, got {describe(values)}"
            )
        if n_rows is None:
            n_rows, first = len(values), name
        elif len(values) != n_rows:
            raise Rejected(
                ErrorClass.INVALID_SHAPE,
                f"columns differ in length: {first!r} has {n_rows} values, {name!r} has {len(values)}",
            )
    return columns, n_rows or 0


def per_row(value: Any, n_rows: int, field: str) -> list[Any]:
    """One value for each of ``n_rows`` rows: a list of exactly that length, or a scalar repeated.

    Raises
    ------
    Rejected
        A list of another length (``InvalidShape``).
    """
    if type(value) is list:
        if len(value) != n_rows:
            raise Rejected(
                ErrorClass.INVALID_SHAPE,
                f"field {field!r} is a list of {len(value)} values for {n_rows} rows",
            )
        return value
    return [value] * n_rows
