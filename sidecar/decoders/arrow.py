"""``arrow`` format: each message is an Arrow IPC stream (or file) of rows; columns convert without Python.

Types are checked on the Arrow schema, before any data is touched: a column whose Arrow type its kind
does not accept rejects the message. Numeric columns are cast to float64 by Arrow and handed to numpy
(nulls become NaN); datetimes go through int64 units since the epoch; categorical and boolean columns
become ``object`` arrays built by Arrow and numpy (``to_numpy`` / ``astype(object)``), never by a Python
loop. The request id and timestamp are the columns named by the configured keys, when present.

A float NaN that is not null is read as null: after decoding the two are the same ``NaN``, and pandas
writes missing floats as NaN, so rejecting it would reject most frames that have gaps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sidecar.decoders.base import DecodedBatch, ErrorClass, MessageError, Rejected, dtype_for
from sidecar.decoders.coerce import NUMERIC_LIMIT, describe
from sidecar.decoders.dispatch import Prepared
from sidecar.decoders.pipeline import FormatDecoder
from sidecar.decoders.registry import register_decoder
from sidecar.decoders.timeparse import (
    MAX_EPOCH_SECONDS,
    MIN_EPOCH_SECONDS,
    parse_datetime_text,
)
from sidecar.stats.coded import CodedValues
from sidecar.stats.kinds import ColumnKind

__all__ = ["ArrowDecoder", "read_table"]

_UNITS_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
_UTC_MICROS = pa.timestamp("us", "UTC")
_Piece = tuple[int, int, dict[str, np.ndarray | CodedValues], np.ndarray, np.ndarray]


@register_decoder
class ArrowDecoder(FormatDecoder):
    """Decode Arrow IPC messages (many rows each) into typed columns.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from sidecar.stats.kinds import ColumnKind
    >>> from sidecar.decoders import RawMessage, make_decoder
    >>> table = pa.table({"age": [41, None], "plan": ["pro", "free"]})
    >>> sink = pa.BufferOutputStream()
    >>> with pa.ipc.new_stream(sink, table.schema) as writer:
    ...     writer.write_table(table)
    >>> decoder = make_decoder("arrow", {"age": ColumnKind.NUMERIC, "plan": ColumnKind.CATEGORICAL})
    >>> batch = decoder.decode([RawMessage(sink.getvalue().to_pybytes(), timestamp_ms=0)])
    >>> batch.columns["age"], batch.columns["plan"]
    (array([41., nan]), array(['pro', 'free'], dtype=object))
    """

    format_name = "arrow"

    def decode_prepared(self, prepared: Prepared) -> DecodedBatch:
        options = self.options
        pieces: list[_Piece] = []
        errors: list[MessageError] = []
        unknown: dict[str, int] = {}
        meta = {options.request_id_key, options.timestamp_key}
        for index, body in zip(*prepared.arrow_group, strict=True):
            try:
                table = read_table(body)
                pieces.append(self._piece(index, table))
            except Rejected as rejected:
                errors.append(MessageError(index, rejected.reason, rejected.error_class))
                continue
            for name in table.column_names:
                if name not in options.schema and name not in meta:
                    unknown[name] = unknown.get(name, 0) + table.num_rows
        if not pieces:
            batch = DecodedBatch.empty(options.schema)
            batch.errors, batch.unknown_columns = errors, unknown
            return batch
        message_index = np.repeat(
            np.array([piece[0] for piece in pieces], dtype=np.int64), [piece[1] for piece in pieces]
        )
        columns = {name: _concatenate([piece[2][name] for piece in pieces]) for name in options.schema}
        timestamps = _concatenate([piece[3] for piece in pieces])
        request_ids = _concatenate([piece[4] for piece in pieces])
        prepared.fill_fallbacks(message_index, timestamps, request_ids, options.now)
        return DecodedBatch(columns, timestamps, request_ids, message_index, errors, unknown)

    def _piece(self, index: int, table: pa.Table) -> _Piece:
        options = self.options
        n_rows = table.num_rows
        names = set(table.column_names)
        columns: dict[str, np.ndarray | CodedValues] = {}
        coded = options.coded_categories
        for name, kind in options.schema.items():
            if name in names:
                # Categorical columns keep their dictionary encoding: see _categorical.
                column = _column(table, name, keep_dictionary=kind is ColumnKind.CATEGORICAL)
                label = f"column {name!r} ({kind.value})"
                if coded and kind is ColumnKind.CATEGORICAL:
                    columns[name] = _coded_categorical(column, label)
                elif coded and kind is ColumnKind.BOOLEAN:
                    columns[name] = _coded_boolean(column, label)
                else:
                    columns[name] = _CONVERTERS[kind](column, label)
            elif kind is ColumnKind.NUMERIC or kind is ColumnKind.DATETIME:
                columns[name] = np.full(n_rows, np.nan)
            else:
                columns[name] = np.full(n_rows, None, dtype=dtype_for(kind))
        if options.timestamp_key in names:
            label = f"field {options.timestamp_key!r} (row timestamp)"
            timestamps = _datetime(_column(table, options.timestamp_key), label)
        else:
            timestamps = np.full(n_rows, np.nan)
        if options.request_id_key in names:
            request_ids = _request_ids(_column(table, options.request_id_key), options.request_id_key)
        else:
            request_ids = np.full(n_rows, None, dtype=object)
        return index, n_rows, columns, timestamps, request_ids


def read_table(body: bytes | memoryview) -> pa.Table:
    """Read an Arrow IPC stream (or file, recognised by its ``ARROW1`` magic) into a table.

    Raises
    ------
    Rejected
        The bytes are not a readable Arrow IPC stream or file (``InvalidArrow``).
    """
    try:
        buffer = pa.py_buffer(body)
        if body[:6] == b"ARROW1":
            return pa.ipc.open_file(buffer).read_all()
        with pa.ipc.open_stream(buffer) as reader:
            return reader.read_all()
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        raise Rejected(ErrorClass.INVALID_ARROW, f"body is not a readable Arrow IPC stream: {exc}") from exc


def _column(table: pa.Table, name: str, *, keep_dictionary: bool = False) -> pa.ChunkedArray:
    if table.schema.get_field_index(name) < 0:
        raise Rejected(ErrorClass.INVALID_SHAPE, f"column {name!r} appears more than once in the Arrow table")
    column = table.column(name)
    if pa.types.is_dictionary(column.type) and not keep_dictionary:
        column = column.cast(column.type.value_type)
    return column


def _mismatch(label: str, column: pa.ChunkedArray, expected: str) -> Rejected:
    return Rejected(ErrorClass.TYPE_MISMATCH, f"{label} expects {expected}, got Arrow type {column.type}")


def _numeric(column: pa.ChunkedArray, label: str) -> np.ndarray:
    kind = column.type
    if pa.types.is_null(kind):
        return np.full(len(column), np.nan)
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        raise _mismatch(label, column, "an integer, floating point or decimal Arrow type")
    if pa.types.is_integer(kind) and column.null_count == 0:
        # Null-free integers stay integers (zero-copy): any int64 or uint64 is far inside NUMERIC_LIMIT, and
        # the profile converts them to float64 as it folds them, with the same rounding as Arrow's cast.
        return np.asarray(column.to_numpy())
    if kind != _FLOAT64:  # float64 columns are used as they are (no cast, zero-copy when null-free)
        # safe=False: int64 beyond 2**53 rounds as it would from JSON instead of failing the cast.
        column = pc.cast(column, _FLOAT64, safe=False)
    values = np.asarray(column.to_numpy(), dtype=np.float64)
    _check_range(values, label, NUMERIC_LIMIT)
    return values


_FLOAT64 = pa.float64()


def _check_range(values: np.ndarray, label: str, limit: float) -> None:
    # Two reductions without temporaries; the row is looked for only when something is out of range.
    if not values.size or (np.fmin.reduce(values) >= -limit and np.fmax.reduce(values) <= limit):
        return
    with np.errstate(invalid="ignore"):
        bad = np.abs(values) > limit
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise Rejected(
            ErrorClass.VALUE_OUT_OF_RANGE,
            f"{label} accepts finite numbers up to {limit:g} in magnitude, got {values[row]!r} (row {row})",
        )


def _datetime(column: pa.ChunkedArray, label: str) -> np.ndarray:
    kind = column.type
    if pa.types.is_null(kind):
        return np.full(len(column), np.nan)
    if pa.types.is_timestamp(kind):
        return _int_units(column, _UNITS_PER_SECOND[kind.unit])
    if pa.types.is_date32(kind):
        days = pc.cast(column, pa.int32()).to_numpy()  # Arrow casts date32 only to its storage type
        return np.asarray(days, dtype=np.float64) * 86_400.0
    if pa.types.is_date64(kind):
        return _int_units(column, 1e3)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = np.asarray(pc.cast(column, pa.float64(), safe=False).to_numpy(), dtype=np.float64)
        with np.errstate(invalid="ignore"):
            bad = (values < MIN_EPOCH_SECONDS) | (values > MAX_EPOCH_SECONDS) | np.isinf(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise Rejected(
                ErrorClass.VALUE_OUT_OF_RANGE,
                f"{label} accepts epoch seconds within the years 1 to 9999, got {values[row]!r} (row {row})",
            )
        return values
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        try:
            return _int_units(pc.cast(column, _UTC_MICROS), 1e6)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _datetime_texts(column, label)
    raise _mismatch(label, column, "a timestamp, date, epoch number or RFC 3339 string Arrow type")


def _int_units(column: pa.ChunkedArray, per_second: float) -> np.ndarray:
    # Whole units as int64 first, one division after: the same rounding as the JSON path.
    units = pc.cast(column, pa.int64()).to_numpy()
    return np.asarray(units, dtype=np.float64) / per_second


def _datetime_texts(column: pa.ChunkedArray, label: str) -> np.ndarray:
    # Arrow's parser wants an offset on every value; Python also takes offset-less times (as UTC) and
    # dates. This is the only per-value loop of the Arrow path, and it runs only when Arrow gave up.
    values = np.full(len(column), np.nan)
    for row, text in enumerate(column.to_pylist()):
        if text is None:
            continue
        try:
            values[row] = parse_datetime_text(text)
        except (ValueError, OverflowError) as exc:
            raise Rejected(
                ErrorClass.INVALID_DATETIME,
                f"{label} expects an RFC 3339 time or epoch seconds, got {describe(text)} (row {row})",
            ) from exc
    return values


def _categorical(column: pa.ChunkedArray, label: str) -> np.ndarray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        if not _is_category_type(kind.value_type):
            raise _mismatch(label, column, "a string, integer, floating point or boolean Arrow type")
        return _from_dictionaries(column)
    if _is_text(kind):
        # One Python str per distinct value, shared by its rows, instead of one per row: categorical columns
        # have few distinct values, and creating str objects is most of the cost of this conversion.
        return _from_dictionaries(pc.dictionary_encode(column))
    if _is_category_type(kind):
        return _objects(column)
    if pa.types.is_null(kind):
        return np.full(len(column), None, dtype=object)
    raise _mismatch(label, column, "a string, integer, floating point or boolean Arrow type")


def _coded_categorical(column: pa.ChunkedArray, label: str) -> np.ndarray | CodedValues:
    """Text (or dictionary-of-text) columns as codes into their distinct values; others as objects."""
    kind = column.type
    if pa.types.is_dictionary(kind) and _is_text(kind.value_type):
        if column.num_chunks == 1:
            chunk = column.chunk(0)
            dictionary = chunk.dictionary
            if dictionary.null_count == 0 and len(pc.unique(dictionary)) == len(dictionary):
                return _coded(chunk)
        column = column.cast(kind.value_type)  # several or unusual dictionaries: encode afresh
    elif not _is_text(kind):
        return _categorical(column, label)
    if not column.num_chunks:
        return np.empty(0, dtype=object)
    return _coded(pc.dictionary_encode(column).combine_chunks())


def _coded(array: pa.DictionaryArray) -> CodedValues:
    """A dictionary array (distinct, null-free dictionary) as codes, null rows as -1."""
    indices = array.indices
    if indices.null_count:
        indices = indices.fill_null(-1)
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return CodedValues(codes, np.asarray(array.dictionary.to_numpy(zero_copy_only=False), dtype=object))


def _coded_boolean(column: pa.ChunkedArray, label: str) -> np.ndarray | CodedValues:
    if not pa.types.is_boolean(column.type):
        return _boolean(column, label)
    filled = pc.fill_null(column, False).to_numpy(zero_copy_only=False).astype(np.int64)
    filled[np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = -1
    return CodedValues(filled, _BOOL_VALUES)


_BOOL_VALUES = np.array([False, True], dtype=object)


def _concatenate(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]  # one Arrow message per batch is the usual case: no copy
    if all(isinstance(p, CodedValues) for p in parts):
        return CodedValues.concatenate(parts)
    return np.concatenate([np.asarray(p) for p in parts])


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind))


def _is_category_type(kind: pa.DataType) -> bool:
    return _is_text(kind) or bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind))


def _from_dictionaries(column: pa.ChunkedArray) -> np.ndarray:
    """Rows of a dictionary-encoded column as an ``object`` array: each dictionary value converted once."""
    parts: list[np.ndarray] = []
    for chunk in column.chunks:
        dictionary = chunk.dictionary
        lookup = np.empty(len(dictionary) + 1, dtype=object)  # the extra last entry is None, for null rows
        if _is_text(dictionary.type):
            lookup[:-1] = dictionary.to_numpy(zero_copy_only=False)
        else:
            lookup[:-1] = _objects(pa.chunked_array([dictionary]))
        indices = chunk.indices.fill_null(len(dictionary)).to_numpy(zero_copy_only=False)
        parts.append(lookup[indices])
    if not parts:
        return np.empty(0, dtype=object)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _boolean(column: pa.ChunkedArray, label: str) -> np.ndarray:
    kind = column.type
    if pa.types.is_boolean(kind):
        return _objects(column)
    if pa.types.is_null(kind):
        return np.full(len(column), None, dtype=object)
    raise _mismatch(label, column, "the boolean Arrow type")


def _objects(column: pa.ChunkedArray) -> np.ndarray:
    """Python scalars with ``None`` for null, built by numpy's ``astype(object)`` (no Python loop)."""
    if pa.types.is_float16(column.type):
        column = column.cast(pa.float32())  # numpy float16 scalars have no Arrow fill value shortcut
    if column.null_count == 0:
        return np.asarray(column.to_numpy()).astype(object)
    filled = pc.fill_null(column, pa.scalar(False if pa.types.is_boolean(column.type) else 0, column.type))
    values = np.asarray(filled.to_numpy()).astype(object)
    values[np.asarray(column.is_null().to_numpy(), dtype=bool)] = None
    return values


def _request_ids(column: pa.ChunkedArray, name: str) -> np.ndarray:
    kind = column.type
    if pa.types.is_integer(kind):
        column = pc.cast(column, pa.string())
    elif pa.types.is_null(kind):
        return np.full(len(column), None, dtype=object)
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)):
        raise _mismatch(f"field {name!r} (request id)", column, "a string or integer Arrow type")
    return np.asarray(column.to_numpy(), dtype=object)


_CONVERTERS: dict[ColumnKind, Callable[[pa.ChunkedArray, str], np.ndarray]] = {
    ColumnKind.NUMERIC: _numeric,
    ColumnKind.CATEGORICAL: _categorical,
    ColumnKind.BOOLEAN: _boolean,
    ColumnKind.DATETIME: _datetime,
}
