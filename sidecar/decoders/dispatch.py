"""First stage of every decoder: open each message and route its payload to a format.

For each message: read the headers (CloudEvents binary mode, request id, content type), tell Arrow from
JSON, parse JSON with orjson (or first with the format's typed parser, ``typed``), unwrap a structured
CloudEvent, and (for ``auto``) tell the JSON formats apart by their keys. The result groups payloads by
format, so that each format then decodes its whole group at once, and keeps per-message fallbacks for
request id and time. A message that fails here is rejected with a
:class:`~sidecar.decoders.base.MessageError` and goes no further.

The common case (no headers, a JSON object that is not a CloudEvent, a JSON format or ``auto``) runs
inline in the loop; everything else goes through :meth:`_Router.route`, which handles all cases.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from sidecar.decoders.base import ErrorClass, MessageError, RawMessage, Rejected
from sidecar.decoders.cloudevents import (
    HeaderAttributes,
    media_kind,
    read_headers,
    unwrap_structured,
)
from sidecar.decoders.coerce import none_mask
from sidecar.decoders.typed import ParseError, TypedModel

__all__ = ["JSON_FORMATS", "Prepared", "looks_like_arrow", "prepare", "sniff_json_format"]

JSON_FORMATS = frozenset({"record", "flat", "columns", "oip"})
"""Formats whose payload is a JSON object (``arrow`` is the only other concrete format)."""

_ARROW_STREAM_CONTINUATION = b"\xff\xff\xff\xff"  # every IPC stream message since Arrow 0.15
_ARROW_FILE_MAGIC = b"ARROW1"
_JSON_FIRST_BYTES = b'{["-0123456789tfn'
_UNPARSED: Any = object()
_TYPED = "typed"  # route()'s format for a payload the typed parser took (no format has this name)


@dataclass(slots=True)
class Prepared:
    """Payloads grouped by format, with what is known about each message before its payload is read.

    Attributes
    ----------
    n_messages
        Size of the batch.
    json_groups
        Format name to ``(message indexes, parsed JSON objects)``.
    typed_groups
        Format name to ``(message indexes, what TypedModel.take returned)``, for the messages a format's
        typed parser took.
    last_typed_format
        The format whose typed parser the next message would have been tried with (``auto``).
    arrow_group
        ``(message indexes, Arrow IPC bytes)``.
    fallback_request_ids
        Per message: the CloudEvent id or request id header, else ``None``.
    fallback_times
        Per message: the CloudEvent time, else the Kafka timestamp, in epoch seconds; ``NaN`` if neither.
    errors
        Messages rejected at this stage.
    """

    n_messages: int
    json_groups: dict[str, tuple[list[int], list[dict[str, Any]]]] = field(default_factory=dict)
    typed_groups: dict[str, tuple[list[int], list[Any]]] = field(default_factory=dict)
    last_typed_format: str | None = None
    arrow_group: tuple[list[int], list[bytes]] = field(default_factory=lambda: ([], []))
    fallback_request_ids: list[str | None] = field(default_factory=list)
    fallback_times: list[float] = field(default_factory=list)
    errors: list[MessageError] = field(default_factory=list)

    def add_json(self, fmt: str, index: int, obj: dict[str, Any]) -> None:
        """Queue a parsed JSON object for format ``fmt``."""
        group = self.json_groups.get(fmt)
        if group is None:
            group = self.json_groups[fmt] = ([], [])
        group[0].append(index)
        group[1].append(obj)

    def add_typed(self, fmt: str, index: int, taken: Any) -> None:
        """Queue what format ``fmt``'s typed parser took from message ``index``."""
        group = self.typed_groups.get(fmt)
        if group is None:
            group = self.typed_groups[fmt] = ([], [])
        group[0].append(index)
        group[1].append(taken)

    def row_fallbacks(self, message_index: np.ndarray, now: Callable[[], float]) -> tuple[np.ndarray, np.ndarray]:
        """Fallback time (``float64``, never NaN) and request id (``object``) for each row.

        ``now`` is called once, and only if some row has no time from its message or transport.
        """
        times = np.array(self.fallback_times, dtype=np.float64)[message_index]
        missing = np.isnan(times)
        if missing.any():
            times[missing] = float(now())
        request_ids = np.empty(self.n_messages, dtype=object)
        request_ids[:] = self.fallback_request_ids
        return times, request_ids[message_index]

    def fill_fallbacks(self, message_index: np.ndarray, timestamps: np.ndarray, request_ids: np.ndarray,
                       now: Callable[[], float]) -> None:
        """Fill, in place, the rows whose payload gave no time (NaN) or no request id (None)."""
        fallback_times, fallback_ids = self.row_fallbacks(message_index, now)
        no_time = np.isnan(timestamps)
        if no_time.any():
            timestamps[no_time] = fallback_times[no_time]
        no_id = none_mask(request_ids)
        if no_id.any():
            request_ids[no_id] = fallback_ids[no_id]


def sniff_json_format(obj: dict[str, Any]) -> str:
    """Which JSON format an object is, by its keys (the ``auto`` rule).

    ``values`` holding an object means ``record``; ``columns`` holding an object means ``columns``;
    ``inputs``/``outputs`` (KServe V2) or ``instances``/``predictions`` (KServe V1) holding a list mean
    ``oip``; anything else is ``flat``. Requiring the container types keeps a flat feature that happens
    to be called ``values`` (a scalar) from being mistaken for a record.

    >>> sniff_json_format({"values": {"age": 41}}), sniff_json_format({"age": 41})
    ('record', 'flat')
    """
    if type(obj.get("values")) is dict:
        return "record"
    if type(obj.get("columns")) is dict:
        return "columns"
    for key in ("inputs", "outputs", "instances", "predictions"):
        if type(obj.get(key)) is list:
            return "oip"
    return "flat"


def looks_like_arrow(body: bytes | bytearray | memoryview) -> bool:
    """Whether ``body`` starts like an Arrow IPC stream (continuation marker) or file (``ARROW1``)."""
    return body[:4] == _ARROW_STREAM_CONTINUATION or body[:6] == _ARROW_FILE_MAGIC


def prepare(
    messages: Sequence[RawMessage],
    forced: str | None,
    typed: Mapping[str, TypedModel] | None = None,
    first_guess: str | None = None,
) -> Prepared:
    """Route every message of a batch to its format.

    Parameters
    ----------
    messages
        The batch.
    forced
        The configured format (``"record"``, ``"flat"``, ``"columns"``, ``"oip"``, ``"arrow"``) or ``None``
        for ``auto``.
    typed
        Typed parsers by format: the forced format's, or for ``auto`` those of every format that has one.
        A message without headers that one takes goes to ``typed_groups``; the others are parsed again the
        general way. ``auto`` tries the parser of the format last seen (streams rarely mix formats), and
        none after a format without one (oip), until the general path sees a format with one again.
    first_guess
        For ``auto``: the format to try first (the previous batch's ``last_typed_format``).
    """
    n_messages = len(messages)
    prepared = Prepared(n_messages, fallback_request_ids=[None] * n_messages, fallback_times=[math.nan] * n_messages)
    models = typed or {}
    router = _Router(forced, prepared, models.get(forced) if forced in JSON_FORMATS else None)
    times = prepared.fallback_times
    json_fast = forced in JSON_FORMATS
    if json_fast:
        assert forced is not None
        prepared.json_groups[forced] = ([], [])
        fast_indexes, fast_objects = prepared.json_groups[forced]
    sniffs = forced is None
    loads = orjson.loads
    # The format whose typed parser is tried first.
    current = forced if forced in models else first_guess if first_guess in models else None
    for index, message in enumerate(messages):
        timestamp_ms = message.timestamp_ms
        if timestamp_ms is not None and timestamp_ms >= 0:  # Kafka's "no timestamp" is -1
            times[index] = timestamp_ms / 1000.0
        body = message.value
        if body and not message.headers and (json_fast or (sniffs and body[:1] == b"{")):
            if current is not None:
                model = models[current]
                try:
                    taken = model.take(model.parse(body))
                except ParseError:
                    taken = None  # not the common shape: the general path below names what is wrong, if anything
                if taken is not None:
                    prepared.add_typed(current, index, taken)
                    continue
            # Hot path: one orjson call and two type checks; anything unusual falls through to route().
            try:
                obj = loads(body)
            except orjson.JSONDecodeError:
                pass
            else:
                if type(obj) is dict and "specversion" not in obj:
                    if json_fast:
                        fast_indexes.append(index)
                        fast_objects.append(obj)
                    else:
                        fmt = sniff_json_format(obj)
                        prepared.add_json(fmt, index, obj)
                        current = fmt if fmt in models else None
                    continue
                router.route(index, message, parsed=obj)
                continue
        router.route(index, message)
    prepared.last_typed_format = current
    return prepared


class _Router:
    """The general path: any headers, CloudEvents, Arrow or JSON, any format."""

    def __init__(self, forced: str | None, prepared: Prepared, typed: TypedModel | None = None) -> None:
        self.forced = forced
        self.prepared = prepared
        self.typed = typed

    def route(self, index: int, message: RawMessage, parsed: Any = _UNPARSED) -> None:
        """Route one message; ``parsed`` is its body already parsed as JSON, when the caller did that."""
        prepared = self.prepared
        try:
            attributes = read_headers(message.headers) if message.headers else HeaderAttributes()
            self._apply(index, attributes)
            if not message.value:
                raise Rejected(ErrorClass.EMPTY_BODY, "message has no body")
            payload = message.value if parsed is _UNPARSED else parsed
            fmt, payload = self._payload(index, payload, attributes.content_type, nested=False)
        except Rejected as rejected:
            prepared.errors.append(MessageError(index, rejected.reason, rejected.error_class))
            return
        if fmt == "arrow":
            prepared.arrow_group[0].append(index)
            prepared.arrow_group[1].append(payload)
        elif fmt == _TYPED:
            assert self.forced is not None
            prepared.add_typed(self.forced, index, payload)
        else:
            prepared.add_json(fmt, index, payload)

    def _apply(self, index: int, attributes: HeaderAttributes) -> None:
        if attributes.request_id is not None:
            self.prepared.fallback_request_ids[index] = attributes.request_id
        if attributes.time is not None:
            self.prepared.fallback_times[index] = attributes.time

    def _payload(self, index: int, payload: Any, content_type: str | None, *, nested: bool) -> tuple[str, Any]:
        kind = media_kind(content_type)
        forced = self.forced
        if kind == "other":
            raise Rejected(
                ErrorClass.UNKNOWN_FORMAT,
                f"content type {content_type!r} is neither JSON nor Arrow IPC",
            )
        if isinstance(payload, bytes | bytearray | memoryview):
            # Arrow bodies stay as they came (a memoryview from the ingest worker's ring is read in place).
            body = payload
            wants_arrow = forced == "arrow" or forced is None
            if kind == "arrow" and forced in JSON_FORMATS:
                raise Rejected(
                    ErrorClass.UNKNOWN_FORMAT,
                    f"content type {content_type!r} is Arrow IPC but the decoder reads {forced!r} JSON",
                )
            if wants_arrow and (kind == "arrow" or looks_like_arrow(body)):
                return "arrow", body
            if forced == "arrow" and bytes(body[:64]).lstrip()[:1] != b"{":
                # Not JSON, so not a structured CloudEvent either: let the Arrow reader say what is wrong.
                return "arrow", body
            if self.typed is not None and kind != "structured":
                # A JSON body behind headers (CloudEvents binary mode, a request id header): typed parse first.
                try:
                    taken = self.typed.take(self.typed.parse(body))
                except ParseError:
                    taken = None
                if taken is not None:
                    return _TYPED, taken
            obj = self._parse(body if type(body) is bytes else bytes(body))
        else:
            obj = payload
        if type(obj) is dict and ("specversion" in obj or kind == "structured") and not nested:
            inner, attributes = unwrap_structured(obj)
            self._apply(index, attributes)
            return self._payload(index, inner, attributes.content_type, nested=True)
        if forced == "arrow":
            raise Rejected(ErrorClass.INVALID_ARROW, "expected an Arrow IPC stream, got a JSON document")
        if type(obj) is not dict:
            raise Rejected(ErrorClass.INVALID_SHAPE, f"the top level must be a JSON object, got {type(obj).__name__}")
        return (forced or sniff_json_format(obj)), obj

    def _parse(self, body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if "infinity" in str(exc):
                # orjson refuses numbers beyond float64; the standard library keeps big integers exact and
                # 1e400 as inf, so the column check can reject the message naming the column and value.
                try:
                    return json.loads(body, parse_constant=_no_constants)
                except ValueError:
                    pass
            stripped = body.strip()
            if not stripped:
                raise Rejected(ErrorClass.EMPTY_BODY, "message body is only whitespace") from exc
            if self.forced is None and stripped[:1] not in _JSON_FIRST_BYTES:
                raise Rejected(
                    ErrorClass.UNKNOWN_FORMAT,
                    f"body is neither JSON nor Arrow IPC (starts with {stripped[:8]!r})",
                ) from exc
            raise Rejected(ErrorClass.INVALID_JSON, f"body is not valid JSON: {exc}") from exc


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
