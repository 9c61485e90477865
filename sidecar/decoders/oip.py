"""``oip`` format: Open Inference Protocol (KServe V2) and KServe V1 request and response bodies.

V2 bodies carry tensors, ``{"id": .., "inputs": [{"name", "shape", "datatype", "data"}]}`` for a request
and ``{"model_name": .., "id": .., "outputs": [..]}`` for a response. The first dimension of a tensor is
the batch (rows); ``oip_columns`` maps a tensor name to the contract columns of its second dimension,
by index, and a tensor with one value per row that is not mapped becomes the column of its own name.
``data`` may be flat (row-major) or nested, as the protocol allows; binary tensor data is not supported.

V1 bodies are ``{"instances": [..]}`` and ``{"predictions": [..]}``: rows as objects (keys are columns),
as lists (mapped by ``oip_columns["instances"]`` / ``["predictions"]``) or as scalars (one column).
"""

from __future__ import annotations

import math
from typing import Any

from sidecar.decoders.assemble import JsonBatchBuilder
from sidecar.decoders.base import ErrorClass, Rejected
from sidecar.decoders.coerce import describe
from sidecar.decoders.pipeline import JsonFormatDecoder
from sidecar.decoders.registry import register_decoder

__all__ = ["OipDecoder"]

_TENSOR_KEYS = ("inputs", "outputs")
_V1_KEYS = ("instances", "predictions")
# Placeholder for a tensor that maps to no contract column: only its name is used, to count it unknown.
_UNMAPPED: list[Any] = []


@register_decoder
class OipDecoder(JsonFormatDecoder):
    """Decode Open Inference Protocol / KServe bodies into rows.

    The request id is ``id`` (else the ``request_id_key`` field, else the CloudEvent id); all tensors of a
    message must agree on the number of rows.

    Examples
    --------
    >>> from sidecar.stats.kinds import ColumnKind
    >>> from sidecar.decoders import RawMessage, make_decoder
    >>> schema = {"age": ColumnKind.NUMERIC, "spend": ColumnKind.NUMERIC}
    >>> decoder = make_decoder("oip", schema, oip_columns={"input-0": ["age", "spend"]})
    >>> body = (b'{"id": "r1", "inputs": [{"name": "input-0", "shape": [2, 2], "datatype": "FP64",'
    ...         b' "data": [41, 9.5, 30, 1.0]}]}')
    >>> batch = decoder.decode([RawMessage(body)])
    >>> batch.columns["age"], batch.columns["spend"], batch.request_ids
    (array([41., 30.]), array([9.5, 1. ]), array(['r1', 'r1'], dtype=object))
    """

    format_name = "oip"

    def collect(self, indexes: list[int], objects: list[dict[str, Any]], builder: JsonBatchBuilder) -> None:
        request_id_key = self.options.request_id_key
        timestamp_key = self.options.timestamp_key
        rows = _Rows(builder)
        for index, obj in zip(indexes, objects, strict=True):
            try:
                n_rows, found, key_rows = self._columns(obj)
            except Rejected as rejected:
                builder.reject(index, rejected.error_class, rejected.reason)
                continue
            request_id = obj.get("id")
            if request_id is None:
                request_id = obj.get(request_id_key)
            rows.add(index, n_rows, found, request_id, obj.get(timestamp_key), key_rows)
        rows.flush()

    def collect_typed(self, indexes: list[int], structs: list[Any], builder: JsonBatchBuilder) -> None:
        # What typed.take_oip returned: (columns, n_rows, request id, timestamp), mapped as collect() maps.
        rows = _Rows(builder)
        for index, (found, n_rows, request_id, timestamp) in zip(indexes, structs, strict=True):
            rows.add(index, n_rows, found, request_id, timestamp)
        rows.flush()

    def _columns(self, obj: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, int] | None]:
        """Rows of one message: ``(n_rows, {column: value})`` when one row, else ``{column: [values]}``.

        The third item counts, for keys of V1 object rows, the rows that had the key (for unknown columns).
        """
        sources: list[tuple[str, int, dict[str, Any]]] = []
        key_rows: dict[str, int] | None = None
        for key in _TENSOR_KEYS:
            tensors = obj.get(key)
            if tensors is None:
                continue
            if type(tensors) is not list:
                raise Rejected(ErrorClass.INVALID_SHAPE, f"{key!r} must be a list of tensors, got {describe(tensors)}")
            for tensor in tensors:
                if key == "outputs" and type(tensor) is dict and "data" not in tensor and "shape" not in tensor:
                    continue  # a request's list of requested outputs: names, no data
                sources.append(self._tensor(key, tensor))
        for key in _V1_KEYS:
            rows = obj.get(key)
            if rows is None:
                continue
            if type(rows) is not list:
                raise Rejected(ErrorClass.INVALID_SHAPE, f"{key!r} must be a list, got {describe(rows)}")
            sources.append(self._v1(key, rows))
            if len(rows) > 1 and type(rows[0]) is dict:
                key_rows = key_rows or {}
                for row in rows:
                    if type(row) is dict:
                        for name in row:
                            key_rows[name] = key_rows.get(name, 0) + 1
        if not sources:
            raise Rejected(
                ErrorClass.INVALID_SHAPE,
                "an inference message needs 'inputs' or 'outputs' (KServe V2) or 'instances' or "
                "'predictions' (KServe V1)",
            )
        first, n_rows, columns = sources[0]
        columns = dict(columns)
        for source, rows, found in sources[1:]:
            if rows != n_rows:
                raise Rejected(
                    ErrorClass.INVALID_SHAPE,
                    f"{first} has {n_rows} rows but {source} has {rows}; all tensors must share the batch size",
                )
            twice = columns.keys() & found.keys()
            if twice:
                raise Rejected(
                    ErrorClass.INVALID_SHAPE, f"column {sorted(twice)[0]!r} is given twice (again by {source})"
                )
            columns.update(found)
        return n_rows, columns, key_rows

    def _tensor(self, key: str, tensor: Any) -> tuple[str, int, dict[str, list[Any]]]:
        if type(tensor) is not dict:
            raise Rejected(ErrorClass.INVALID_SHAPE, f"each of {key!r} must be a tensor object, got {describe(tensor)}")
        name = tensor.get("name")
        if type(name) is not str or not name:
            raise Rejected(ErrorClass.INVALID_SHAPE, f"a tensor in {key!r} has no 'name', got {describe(name)}")
        label = f"tensor {name!r}"
        shape = tensor.get("shape")
        if type(shape) is not list or not all(type(d) is int and d >= 0 for d in shape):
            raise Rejected(ErrorClass.INVALID_SHAPE, f"{label} needs a 'shape' list of sizes, got {describe(shape)}")
        data = tensor.get("data")
        if type(data) is not list:
            got = describe(data) if "data" in tensor else "no 'data' (binary tensor data is not supported)"
            raise Rejected(ErrorClass.INVALID_SHAPE, f"{label} needs a 'data' list, got {got}")
        data = _flatten(data, len(shape) - 1)
        size = math.prod(shape)
        if len(data) != size:
            raise Rejected(
                ErrorClass.INVALID_SHAPE,
                f"{label} has shape {shape} ({size} values) but {len(data)} data values",
            )
        n_rows = shape[0] if shape else 1
        per_row = math.prod(shape[1:])
        return label, n_rows, self._map(name, label, data, n_rows, per_row)

    def _v1(self, key: str, rows: list[Any]) -> tuple[str, int, dict[str, list[Any]]]:
        label = f"{key!r}"
        types = set(map(type, rows))
        if not rows:
            return label, 0, {}
        if types == {dict}:
            if len(rows) == 1:
                return label, 1, rows[0]
            names: dict[str, None] = {}
            for row in rows:
                names.update(dict.fromkeys(row))
            return label, len(rows), {name: [row.get(name) for row in rows] for name in names}
        if types == {list}:
            widths = set(map(len, rows))
            if len(widths) > 1:
                raise Rejected(
                    ErrorClass.INVALID_SHAPE,
                    f"rows of {label} differ in length ({sorted(widths)}); each must have one value per column",
                )
            (width,) = widths
            flat = [value for row in rows for value in row]
            return label, len(rows), self._map(key, label, flat, len(rows), width)
        if list in types or dict in types:
            raise Rejected(ErrorClass.INVALID_SHAPE, f"rows of {label} mix objects, lists and scalars")
        return label, len(rows), self._map(key, label, rows, len(rows), 1)

    def _map(self, name: str, label: str, data: list[Any], n_rows: int, per_row: int) -> dict[str, Any]:
        """Split row-major ``data`` (``per_row`` values per row) into contract columns.

        One row gives ``{column: value}``, several give ``{column: [values]}``.
        """
        mapped = self.options.oip_columns.get(name)
        if mapped is not None:
            if len(mapped) != per_row:
                raise Rejected(
                    ErrorClass.INVALID_SHAPE,
                    f"{label} has {per_row} values per row but oip_columns maps it to {len(mapped)} columns",
                )
        elif per_row == 1:
            mapped = (name,)
        elif name in self.options.schema:
            raise Rejected(
                ErrorClass.INVALID_SHAPE,
                f"{label} has {per_row} values per row; map them to contract columns with oip_columns",
            )
        else:
            # No contract column to put it in: keep only the name, so it is counted as unknown.
            return {name: None if n_rows == 1 else _UNMAPPED}
        if n_rows == 1:
            return dict(zip(mapped, data, strict=True))
        if per_row == 1:
            return {mapped[0]: data}
        # A strided slice copies one column in C: no per-value Python.
        return {column: data[offset::per_row] for offset, column in enumerate(mapped)}


def _flatten(data: list[Any], levels: int) -> list[Any]:
    """Undo up to ``levels`` levels of nesting (a tensor of rank r nests r - 1 deep), without recursion.

    Lists nested deeper stay as values, which the column check then rejects as a type mismatch.
    """
    for _ in range(levels):
        if not any(type(item) is list for item in data):
            break
        flat: list[Any] = []
        for item in data:
            if type(item) is list:
                flat.extend(item)
            else:
                flat.append(item)
        data = flat
    return data


class _Rows:
    """Hands a batch's messages to the builder: one-row messages (online inference) gathered as row dicts
    (one dict per message is far cheaper than one list per column per message), multi-row ones column-wise."""

    def __init__(self, builder: JsonBatchBuilder) -> None:
        self.builder = builder
        self.indexes: list[int] = []
        self.rows: list[dict[str, Any]] = []
        self.request_ids: list[Any] = []
        self.timestamps: list[Any] = []

    def add(self, index: int, n_rows: int, found: dict[str, Any], request_id: Any, timestamp: Any,
            key_rows: dict[str, int] | None = None) -> None:
        """Message ``index``: ``{column: value}`` for one row, else ``{column: [values]}``."""
        if n_rows == 1:
            self.indexes.append(index)
            self.rows.append(found)
            self.request_ids.append(request_id)
            self.timestamps.append(timestamp)
        else:
            self.builder.add_columns(index, n_rows, found, [request_id] * n_rows, [timestamp] * n_rows, key_rows)

    def flush(self) -> None:
        """Add the gathered one-row messages."""
        self.builder.add_rows(self.indexes, self.rows, self.request_ids, self.timestamps)
