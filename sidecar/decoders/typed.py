"""Parse and type-check in one pass: msgspec decoders built from the contract for the JSON formats.

Parsing a message with orjson and then checking each column's Python value types (``set(map(type, ...))``)
costs a second pass over every value; on 500-row column batches the check took a quarter of the decode
time. msgspec decodes straight into a structure whose fields carry the column kinds' accepted types, so a
message that parses is known to fit: its columns skip the type scan (``trusted`` in ``assemble``), and
one-row messages come out as tuples that ``zip`` turns into columns in C. Decode-only, 68 features, one
core, medians of 5 interleaved runs (``benchmarks/README.md``): record 50k -> 81k rows/s, flat 48k -> 64k,
columns 147k -> 197k; under ``auto`` record 55k -> 101k, flat 50k -> 79k, columns 118k -> 173k. KServe V2
(``oip``) bodies whose tensors carry flat data are parsed the same way; their tensors still map to columns
in Python, without the general path's per-value checks (22k -> 31k).

The typed parse is only a fast path. A message it refuses (malformed JSON, a value of a type its column
does not take, a column the contract does not have, a column given as ``null``, a CloudEvent envelope)
goes through the general path (orjson, ``dispatch``), which accepts, counts or rejects it with the usual
reason. So both paths give the same batch for every message; ``tests/unit/decoders/test_decoder_properties.py``
checks that on generated messages.

The types are exactly those of the general path's checks (``coerce``): numeric ``int | float | None``,
categorical ``str | int | float | bool | None``, boolean ``bool | None``, datetime ``int | float | str |
None``; values are the Python objects orjson would give (integers stay ``int``), so range checks and
reasons are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import msgspec

from sidecar.decoders.base import DecoderOptions
from sidecar.stats.kinds import ColumnKind

__all__ = ["ParseError", "TypedModel", "typed_model"]

ParseError = msgspec.DecodeError
"""Raised by a typed parser for a message it does not take (``msgspec.ValidationError`` is a subclass)."""

#: orjson reads integers beyond 64 bits as floats, msgspec keeps them exact; the typed path refuses every
#: integer outside int64 (msgspec's bounds must fit one) so that both paths hold the same Python values (a
#: categorical 10**30 is one category either way). Integers up to 2**64 - 1 then take the general path.
_Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_VALUE_TYPES: dict[ColumnKind, Any] = {
    ColumnKind.NUMERIC: _Int | float | None,
    ColumnKind.CATEGORICAL: str | _Int | float | bool | None,
    ColumnKind.BOOLEAN: bool | None,
    ColumnKind.DATETIME: _Int | float | str | None,
}
#: A request id or a timestamp given once for the message or once per row (``columns``); which values
#: are valid is left to the general checks, only the JSON kinds are narrowed here.
_PER_ROW: Any = _Int | float | str | list[_Int | float | str | bool | None] | None
_SCALAR: Any = _Int | float | str | None


class TypedModel:
    """A format's typed parser and what the decoder takes from each parsed message.

    Attributes
    ----------
    parse
        ``bytes-like -> struct``; raises :data:`ParseError` for a message the fast path does not take.
    names
        The contract columns, in the order of the values :meth:`take` returns.
    """

    __slots__ = ("_take", "names", "parse")

    def __init__(self, parse: Callable[[bytes | bytearray | memoryview], Any], names: list[str],
                 take: Callable[[Any], Any]) -> None:
        self.parse = parse
        self.names = names
        self._take = take

    def take(self, parsed: Any) -> Any:
        """What the format decodes from a parsed message, or ``None`` when the general path must decode it.

        ``record`` and ``flat``: ``(values, request_id, timestamp)``, ``values`` a tuple with one value per
        contract column (``msgspec.structs.astuple``: 10x faster than reading 68 attributes). ``columns``:
        ``(values, n_rows, request_id, timestamp)``, ``values`` one list of ``n_rows`` or ``None`` per column.

        ``None`` for ``columns`` lists of different lengths (the general path's reason names them in the
        message's order) and, for the one-row formats, for a row with every contract column null or absent:
        a struct cannot tell absent from null, and the general path rejects a row with no contract column at
        all but keeps a row of nulls. (Messages with a ``specversion`` key, a structured CloudEvent, never
        parse: only the general path unwraps them.)
        """
        return self._take(parsed)


def typed_model(fmt: str, options: DecoderOptions) -> TypedModel | None:
    """The typed parser of ``fmt`` (``record``, ``flat``, ``columns`` or ``oip``), or ``None`` when there is
    none.

    There is none when the configured keys collide with each other, with the format's own keys or with
    ``specversion``, or, for ``flat``, with a contract column (a field that is both metadata and a column):
    the general path sorts those out.
    """
    schema = options.schema
    request_id_key, timestamp_key = options.request_id_key, options.timestamp_key
    if fmt == "oip":
        return _oip_model(options)
    if fmt not in _CONTAINERS:
        return None
    keys = {"flat": list(schema), "record": ["values"], "columns": ["columns", "values"]}[fmt]
    taken = [request_id_key, timestamp_key, "specversion", *keys]
    if len(set(taken)) != len(taken):
        return None
    names = list(schema)
    fields = {name: f"c{i}" for i, name in enumerate(names)}
    rename = {attr: name for name, attr in fields.items()}
    n = len(names)
    astuple = msgspec.structs.astuple

    if fmt == "flat":
        # The columns are the first n fields, then request id, timestamp and specversion.
        row = _envelope("FlatMessage", request_id_key, timestamp_key, _columns(schema, fields, list_of=False),
                        _SCALAR, rename=rename, forbid_unknown_fields=True)

        def take_flat(parsed: Any) -> Any:
            values = astuple(parsed)
            columns = values[:n]
            return None if columns.count(None) == n else (columns, values[n], values[n + 1])

        return TypedModel(msgspec.json.Decoder(row).decode, names, take_flat)
    per_row = fmt == "columns"
    container = msgspec.defstruct(
        "Columns" if per_row else "Values", _columns(schema, fields, list_of=per_row),
        rename=rename, forbid_unknown_fields=True, kw_only=True,
    )
    body: list[Any] = [(_CONTAINERS[fmt], container)]
    if per_row:
        # ``auto`` calls a message with a ``values`` object a record whatever else it holds: leave any
        # ``values`` key to the general path.
        body.append(("values", msgspec.UnsetType, msgspec.UNSET))
    message = _envelope("Message", request_id_key, timestamp_key, body, _PER_ROW if per_row else _SCALAR)
    if per_row:

        def take_columns(parsed: Any) -> Any:
            values = astuple(parsed.columns)
            lengths = {len(column) for column in values if column is not None}
            if len(lengths) > 1:
                return None
            return values, (lengths.pop() if lengths else 0), parsed.request_id, parsed.timestamp

        return TypedModel(msgspec.json.Decoder(message).decode, names, take_columns)

    def take_record(parsed: Any) -> Any:
        values = astuple(parsed.values)
        return None if values.count(None) == n else (values, parsed.request_id, parsed.timestamp)

    return TypedModel(msgspec.json.Decoder(message).decode, names, take_record)


_CONTAINERS = {"columns": "columns", "record": "values", "flat": ""}


def _columns(schema: Mapping[str, ColumnKind], fields: Mapping[str, str], *, list_of: bool) -> list[Any]:
    # An absent column is None; in ``columns`` a column given as null is refused (not a list), as the
    # general path rejects it too.
    types = [_VALUE_TYPES[schema[name]] for name in fields]
    return [(attr, list.__class_getitem__(kind) if list_of else kind, None)
            for attr, kind in zip(fields.values(), types, strict=True)]


def _envelope(name: str, request_id_key: str, timestamp_key: str, body: list[Any], meta: Any,
              rename: Mapping[str, str] | None = None, forbid_unknown_fields: bool = False) -> type:
    # Other top-level keys are envelope the formats ignore; ``specversion`` marks a structured CloudEvent,
    # which only the general path unwraps: an UnsetType field refuses the key with any value.
    return msgspec.defstruct(
        name,
        [
            *body,
            ("request_id", meta, None),
            ("timestamp", meta, None),
            ("specversion", msgspec.UnsetType, msgspec.UNSET),
        ],
        rename={**(rename or {}), "request_id": request_id_key, "timestamp": timestamp_key},
        forbid_unknown_fields=forbid_unknown_fields,
        kw_only=True,
    )


#: A V2 tensor as the typed path takes it: flat ``data`` of scalars (nested data, binary data or a tensor
#: without data, such as a request's list of wanted outputs, fail the parse and take the general path).
class _Tensor(msgspec.Struct, kw_only=True):
    name: str
    shape: list[_Int]
    data: list[str | _Int | float | bool | None]


_NOT_OIP = ("instances", "predictions", "specversion", "values", "columns")


def _oip_model(options: DecoderOptions) -> TypedModel | None:
    """KServe V2 bodies whose tensors all have flat data: the tensors are mapped to columns in Python, but
    without the general path's per-value nesting and type checks (the values are still type-checked per
    column when the batch is assembled: a tensor's values can go to columns of different kinds)."""
    schema = options.schema
    request_id_key, timestamp_key = options.request_id_key, options.timestamp_key
    taken = [request_id_key, timestamp_key, "id", "inputs", "outputs", *_NOT_OIP]
    if len(set(taken)) != len(taken):
        return None
    mapping = {name: tuple(columns) for name, columns in options.oip_columns.items()}
    if any(column not in schema for columns in mapping.values() for column in columns):
        return None  # columns the contract does not have: counted as unknown by the general path
    message = msgspec.defstruct(
        "OipMessage",
        [
            ("inputs", list[_Tensor] | None, None),
            ("outputs", list[_Tensor] | None, None),
            ("id", _SCALAR, None),
            ("request_id", _SCALAR, None),
            ("timestamp", _SCALAR, None),
            # V1 rows, a structured CloudEvent, and keys that make ``auto`` call the body a record or a
            # column batch: the general path.
            *[(key, msgspec.UnsetType, msgspec.UNSET) for key in _NOT_OIP],
        ],
        rename={"request_id": request_id_key, "timestamp": timestamp_key},
        kw_only=True,
    )
    prod = math.prod

    def take_oip(parsed: Any) -> Any:
        columns: dict[str, Any] = {}
        given = 0  # columns the tensors map to; more than len(columns) means one was given twice
        n_rows = -1
        for tensors in (parsed.inputs, parsed.outputs):
            for tensor in tensors or ():
                name, shape, data = tensor.name, tensor.shape, tensor.data
                if not name or len(data) != prod(shape) or (shape and min(shape) < 0):
                    return None
                rows = shape[0] if shape else 1
                if n_rows == -1:
                    n_rows = rows
                elif rows != n_rows:
                    return None
                per_row = prod(shape[1:])
                mapped = mapping.get(name)
                if mapped is None:
                    if per_row != 1 or name not in schema:
                        return None
                    mapped = (name,)
                elif len(mapped) != per_row:
                    return None
                given += per_row
                if rows == 1:
                    columns.update(zip(mapped, data, strict=True))
                elif per_row == 1:
                    columns[mapped[0]] = data
                else:
                    for offset, column in enumerate(mapped):
                        columns[column] = data[offset::per_row]
        if n_rows <= 0 or given != len(columns):
            return None
        request_id = parsed.id if parsed.id is not None else parsed.request_id
        return columns, n_rows, request_id, parsed.timestamp

    return TypedModel(msgspec.json.Decoder(message).decode, list(schema), take_oip)
