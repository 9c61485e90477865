"""The data every decoder shares: raw messages in, a typed column batch and per-message errors out."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, Protocol

import numpy as np

from sidecar.errors import ConfigurationError
from sidecar.stats.coded import CodedValues
from sidecar.stats.kinds import ColumnKind

__all__ = [
    "DecodedBatch",
    "Decoder",
    "DecoderOptions",
    "ErrorClass",
    "MessageError",
    "RawMessage",
    "Rejected",
]


class RawMessage(NamedTuple):
    """One message as it came off the transport (a Kafka record or an HTTP body).

    A NamedTuple rather than a frozen dataclass: one is built per Kafka record in the hot loop, and a
    tuple is made in less than half the time while being just as immutable.

    Parameters
    ----------
    value
        The message body; ``None`` for a Kafka tombstone.
    headers
        ``(name, value)`` pairs: Kafka record headers or HTTP headers.
    timestamp_ms
        The Kafka record timestamp in epoch milliseconds, if any.
    key
        The Kafka record key (kept so a dead-letter copy is unchanged; decoders do not read it).

    Examples
    --------
    >>> RawMessage(b'{"age": 42}', headers=(("request_id", b"r1"),), timestamp_ms=1_764_151_200_000)
    RawMessage(value=b'{"age": 42}', headers=(('request_id', b'r1'),), timestamp_ms=1764151200000, key=None)
    """

    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None
    key: bytes | None = None


class ErrorClass(StrEnum):
    """Short names for why a message was rejected (the ``error_class`` of a :class:`MessageError`).

    They are ``str`` values, so they compare equal to plain strings and go into dead-letter headers as is.
    """

    EMPTY_BODY = "EmptyBody"
    """No body at all, or only whitespace (a tombstone, a CloudEvent without data)."""
    INVALID_JSON = "InvalidJSON"
    """The body is not valid JSON (or not UTF-8)."""
    INVALID_ARROW = "InvalidArrow"
    """The body is not a readable Arrow IPC stream or file."""
    INVALID_CLOUDEVENT = "InvalidCloudEvent"
    """A structured CloudEvent whose ``data_base64`` does not decode, or whose fields have wrong types."""
    UNKNOWN_FORMAT = "UnknownFormat"
    """A content type the decoders cannot read (for example ``application/protobuf``), or, for ``auto``, a
    body that is neither JSON nor Arrow IPC."""
    INVALID_SHAPE = "InvalidShape"
    """Valid JSON of the wrong structure: a non-object top level, ``values`` not an object, column lists
    of different lengths, a tensor whose data does not fit its shape."""
    TYPE_MISMATCH = "TypeMismatch"
    """A value of a type the column's kind does not accept (a string for a numeric column, a list for a
    categorical one, an object as request id)."""
    VALUE_OUT_OF_RANGE = "ValueOutOfRange"
    """A number that cannot be a float64 statistic: infinite, or larger in magnitude than ``1e300``; an
    epoch time outside the years 1 to 9999."""
    INVALID_DATETIME = "InvalidDatetime"
    """A string in a datetime column (or the timestamp field) that is not an RFC 3339 / ISO 8601 time."""


class Rejected(Exception):
    """Raised inside a decoder to reject one message; the decoder turns it into a :class:`MessageError`.

    It never escapes ``decode``: it is control flow between a format and the loop over messages.
    """

    def __init__(self, error_class: ErrorClass, reason: str) -> None:
        super().__init__(reason)
        self.error_class = error_class
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MessageError:
    """Why one message of a batch was rejected whole (none of its rows are in the batch's columns).

    Parameters
    ----------
    index
        Index of the message in the decoded batch.
    reason
        Human-readable; names the column or field and the value received.
    error_class
        A short class, one of :class:`ErrorClass`.
    """

    index: int
    reason: str
    error_class: str

    def __post_init__(self) -> None:
        # Store a plain str even when given an ErrorClass member, so reprs, JSON and header bytes are simple.
        object.__setattr__(self, "error_class", str(self.error_class))


@dataclass
class DecodedBatch:
    """Typed column arrays decoded from a batch of messages, plus what was rejected.

    Numeric and datetime columns are ``float64`` (null is ``NaN``; datetimes are epoch seconds), except
    that the Arrow format hands a null-free integer column over as its integer array, unconverted;
    categorical and boolean columns are ``object`` arrays of the raw scalar or ``None`` (or
    :class:`~sidecar.stats.coded.CodedValues` from the Arrow format with ``coded_categories``). Rows are in
    message order; rows of one message stay in their order.

    Attributes
    ----------
    columns
        One entry per schema column, each of length :attr:`n_rows`.
    timestamps
        ``float64`` epoch seconds per row.
    request_ids
        ``object`` array of ``str`` or ``None`` per row.
    message_index
        ``int64``: the batch index of the message each row came from.
    errors
        Messages rejected whole, sorted by index.
    unknown_columns
        Keys seen in accepted messages that are not in the schema, with the number of rows carrying them.
    """

    columns: dict[str, np.ndarray | CodedValues]
    timestamps: np.ndarray
    request_ids: np.ndarray
    message_index: np.ndarray
    errors: list[MessageError] = field(default_factory=list)
    unknown_columns: dict[str, int] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        """Number of decoded rows."""
        return int(self.message_index.shape[0])

    @classmethod
    def empty(cls, schema: Mapping[str, ColumnKind]) -> DecodedBatch:
        """A batch with no rows and a correctly typed empty array per schema column."""
        return cls(
            columns={name: np.empty(0, dtype=dtype_for(kind)) for name, kind in schema.items()},
            timestamps=np.empty(0, dtype=np.float64),
            request_ids=np.empty(0, dtype=object),
            message_index=np.empty(0, dtype=np.int64),
        )

    def shifted(self, offset: int) -> DecodedBatch:
        """The same batch with message indexes (of rows and errors) moved by ``offset``.

        Useful when batches decoded separately are joined, for example per Kafka partition.
        """
        return DecodedBatch(
            columns=dict(self.columns),
            timestamps=self.timestamps,
            request_ids=self.request_ids,
            message_index=self.message_index + offset,
            errors=[MessageError(e.index + offset, e.reason, e.error_class) for e in self.errors],
            unknown_columns=dict(self.unknown_columns),
        )

    def take(self, rows: np.ndarray) -> DecodedBatch:
        """The rows selected by ``rows`` (a boolean mask or integer indexes); errors and counts are kept."""
        return DecodedBatch(
            columns={name: array[rows] for name, array in self.columns.items()},
            timestamps=self.timestamps[rows],
            request_ids=self.request_ids[rows],
            message_index=self.message_index[rows],
            errors=list(self.errors),
            unknown_columns=dict(self.unknown_columns),
        )

    @classmethod
    def concat(cls, batches: Sequence[DecodedBatch], schema: Mapping[str, ColumnKind]) -> DecodedBatch:
        """Join batches that cover disjoint messages into one, ordered by message index.

        Message indexes are taken as they are: shift them first (:meth:`shifted`) when each batch counts
        its messages from zero. The sort is stable, so rows of one message keep their order.
        """
        if not batches:
            return cls.empty(schema)
        if len(batches) == 1:
            joined = batches[0]
        else:
            unknown: dict[str, int] = {}
            for batch in batches:
                for name, count in batch.unknown_columns.items():
                    unknown[name] = unknown.get(name, 0) + count
            joined = cls(
                columns={name: np.concatenate([b.columns[name] for b in batches]) for name in schema},
                timestamps=np.concatenate([b.timestamps for b in batches]),
                request_ids=np.concatenate([b.request_ids for b in batches]),
                message_index=np.concatenate([b.message_index for b in batches]),
                errors=sorted((e for b in batches for e in b.errors), key=lambda e: e.index),
                unknown_columns=unknown,
            )
        index = joined.message_index
        if index.shape[0] > 1 and bool(np.any(index[1:] < index[:-1])):
            return joined.take(np.argsort(index, kind="stable"))
        return joined


def dtype_for(kind: ColumnKind) -> np.dtype:
    """The numpy dtype a decoded column of ``kind`` has (float64 or object)."""
    if kind is ColumnKind.NUMERIC or kind is ColumnKind.DATETIME:
        return np.dtype(np.float64)
    return np.dtype(object)


class Decoder(Protocol):
    """Anything that turns a batch of raw messages into a :class:`DecodedBatch`.

    ``decode`` never raises for bad input: a bad message becomes a :class:`MessageError` and the rest of
    the batch is decoded.
    """

    def decode(self, messages: Sequence[RawMessage]) -> DecodedBatch:
        """Decode ``messages`` (a ``getmany`` batch or HTTP bodies) into typed columns."""
        ...


@dataclass(frozen=True, slots=True)
class DecoderOptions:
    """Everything a decoder is configured with; built once by ``make_decoder`` and validated there.

    Parameters
    ----------
    schema
        Contract column name to its kind, in contract order.
    request_id_key, timestamp_key
        Names of the request id and timestamp fields (record, flat, columns) or Arrow columns.
    oip_columns
        Tensor name (or ``"instances"`` / ``"predictions"`` for KServe V1) to the contract columns its
        second dimension holds, by column index.
    now
        Clock for rows with no timestamp anywhere (epoch seconds); called at most once per batch.
    coded_categories
        Let formats that carry dictionary codes (Arrow) return categorical and boolean columns as
        :class:`~sidecar.stats.coded.CodedValues` instead of ``object`` arrays; the profile counts codes.
    """

    schema: Mapping[str, ColumnKind]
    request_id_key: str = "request_id"
    timestamp_key: str = "timestamp"
    oip_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    now: Callable[[], float] = time.time
    coded_categories: bool = False

    @classmethod
    def build(
        cls,
        schema: Mapping[str, ColumnKind | str],
        *,
        request_id_key: str = "request_id",
        timestamp_key: str = "timestamp",
        oip_columns: Mapping[str, Sequence[str]] | None = None,
        now: Callable[[], float] = time.time,
        coded_categories: bool = False,
    ) -> DecoderOptions:
        """Validate and normalise the arguments of ``make_decoder``.

        Raises
        ------
        ConfigurationError
            A kind that is not a :class:`ColumnKind`, an empty key, or a malformed ``oip_columns``.
        """
        kinds: dict[str, ColumnKind] = {}
        for name, kind in schema.items():
            if not isinstance(name, str) or not name:
                raise ConfigurationError(f"schema column names must be non-empty strings, got {name!r}")
            try:
                kinds[name] = ColumnKind(kind)
            except ValueError as exc:
                accepted = ", ".join(k.value for k in ColumnKind)
                raise ConfigurationError(
                    f"schema column {name!r} has kind {kind!r}; accepted kinds: {accepted}"
                ) from exc
        for label, key in (("request_id_key", request_id_key), ("timestamp_key", timestamp_key)):
            if not isinstance(key, str) or not key:
                raise ConfigurationError(f"{label} must be a non-empty string, got {key!r}")
        mapping: dict[str, tuple[str, ...]] = {}
        for tensor, names in (oip_columns or {}).items():
            if isinstance(names, str) or not all(isinstance(n, str) and n for n in names) or not names:
                raise ConfigurationError(
                    f"oip_columns[{tensor!r}] must be a non-empty list of column names, got {names!r}"
                )
            mapping[tensor] = tuple(names)
        if not callable(now):
            raise ConfigurationError(f"now must be a callable returning epoch seconds, got {now!r}")
        return cls(kinds, request_id_key, timestamp_key, mapping, now, bool(coded_categories))
