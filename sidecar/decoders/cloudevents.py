"""CloudEvents around any payload: binary mode (attributes in headers) and structured mode (JSON envelope).

Binary mode puts the attributes in Kafka headers named ``ce_<attribute>`` (Kafka protocol binding) or in
HTTP headers named ``ce-<attribute>`` (HTTP binding, any letter case); the body is the payload and the
``content-type`` header says what it is. Structured mode sends one JSON object with ``specversion`` and
``data`` (a JSON value) or ``data_base64`` (bytes, for example an Arrow stream).

Either way the event ``id`` becomes the request id and ``time`` the timestamp of rows whose payload has
none. Header names are compared after lower-casing and turning ``-`` into ``_``, so ``Ce-Id``,
``ce-id`` and ``ce_id`` are the same attribute.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
from dataclasses import dataclass
from typing import Any

from sidecar.decoders.base import ErrorClass, Rejected
from sidecar.decoders.coerce import describe
from sidecar.decoders.timeparse import parse_datetime_text

__all__ = [
    "ARROW_MEDIA_TYPES",
    "STRUCTURED_MEDIA_TYPE",
    "HeaderAttributes",
    "media_kind",
    "read_headers",
    "unwrap_structured",
]

STRUCTURED_MEDIA_TYPE = "application/cloudevents+json"
ARROW_MEDIA_TYPES = frozenset(
    {
        "application/vnd.apache.arrow.stream",
        "application/vnd.apache.arrow.file",
        "application/x-apache-arrow-stream",
    }
)
# Content types that say nothing about the payload: the body is sniffed as if none was given.
_GENERIC_MEDIA_TYPES = frozenset({"application/octet-stream", "text/plain", "*/*"})
_REQUEST_ID_HEADERS = frozenset({"request_id", "x_request_id"})


@dataclass(slots=True)
class HeaderAttributes:
    """What the headers of one message say about it."""

    request_id: str | None = None
    time: float | None = None
    content_type: str | None = None


@functools.lru_cache(maxsize=256)  # a topic carries a handful of distinct content types
def media_kind(content_type: str | None) -> str | None:
    """Classify a media type: ``"json"``, ``"structured"``, ``"arrow"``, ``None`` (no hint) or ``"other"``.

    >>> media_kind("application/json; charset=utf-8"), media_kind("application/cloudevents+json")
    ('json', 'structured')
    """
    if content_type is None:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if media == STRUCTURED_MEDIA_TYPE:
        return "structured"
    if media in ARROW_MEDIA_TYPES:
        return "arrow"
    if media in {"application/json", "text/json"} or media.endswith("+json"):
        # Other "+json" suffixes (e.g. application/cloudevents-batch+json) are JSON we then reject by shape.
        return "json"
    if not media or media in _GENERIC_MEDIA_TYPES:
        return None
    return "other"


def read_headers(headers: tuple[tuple[str, bytes], ...]) -> HeaderAttributes:
    """Read the request id, time and content type from Kafka or HTTP headers.

    ``ce_id`` wins over a ``request_id`` / ``x-request-id`` header when both are present, because the
    CloudEvent id is what the KServe payload logger sets to the inference request id.

    Raises
    ------
    Rejected
        A ``ce_time`` header that is not an RFC 3339 time.
    """
    attributes = HeaderAttributes()
    ce_id: str | None = None
    for raw_name, raw_value in headers:
        if raw_value is None:
            continue
        name = _header_name(raw_name)
        if name not in _READ_HEADERS:
            continue  # ce_type, ce_source, tracing headers...: nothing the decoder needs
        if name == "ce_id":
            ce_id = _text(raw_value)
        elif name == "ce_time":
            text = _text(raw_value)
            try:
                attributes.time = parse_datetime_text(text)
            except (ValueError, OverflowError) as exc:
                raise Rejected(
                    ErrorClass.INVALID_CLOUDEVENT,
                    f"header {raw_name!r} (CloudEvents time) is not an RFC 3339 time: {text[:60]!r}",
                ) from exc
        elif name == "content_type" or name == "ce_datacontenttype":
            attributes.content_type = _text(raw_value)
        elif name in _REQUEST_ID_HEADERS and attributes.request_id is None:
            attributes.request_id = _text(raw_value)
    if ce_id:
        attributes.request_id = ce_id
    return attributes


_READ_HEADERS = frozenset({"ce_id", "ce_time", "content_type", "ce_datacontenttype", *_REQUEST_ID_HEADERS})


@functools.lru_cache(maxsize=1024)  # header names repeat on every message; normalise each once
def _header_name(name: str) -> str:
    return name.lower().replace("-", "_")


def unwrap_structured(event: dict[str, Any]) -> tuple[Any, HeaderAttributes]:
    """Take the payload out of a structured-mode CloudEvent.

    Returns
    -------
    tuple
        The payload, either a parsed JSON value (``data``) or ``bytes`` (``data_base64``, or ``data`` given
        as a JSON document in a string), and the event's id, time and ``datacontenttype``.

    Raises
    ------
    Rejected
        No data (``EmptyBody``); bad ``id``, ``time`` or ``data_base64`` (``InvalidCloudEvent``).
    """
    attributes = HeaderAttributes()
    event_id = event.get("id")
    if event_id is not None:
        if type(event_id) is not str and type(event_id) is not int:
            raise Rejected(
                ErrorClass.INVALID_CLOUDEVENT,
                f"CloudEvent attribute 'id' must be a string, got {describe(event_id)}",
            )
        attributes.request_id = str(event_id)
    event_time = event.get("time")
    if event_time is not None:
        attributes.time = _event_time(event_time)
    content_type = event.get("datacontenttype")
    if content_type is not None and type(content_type) is str:
        attributes.content_type = content_type
    if "data_base64" in event and event["data_base64"] is not None:
        encoded = event["data_base64"]
        if type(encoded) is not str:
            raise Rejected(
                ErrorClass.INVALID_CLOUDEVENT,
                f"CloudEvent attribute 'data_base64' must be a string, got {describe(encoded)}",
            )
        try:
            payload: Any = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Rejected(
                ErrorClass.INVALID_CLOUDEVENT, f"CloudEvent 'data_base64' is not valid base64: {exc}"
            ) from exc
        return payload, attributes
    if "data" not in event or event["data"] is None:
        raise Rejected(ErrorClass.EMPTY_BODY, "CloudEvent has neither 'data' nor 'data_base64'")
    data = event["data"]
    if type(data) is str and media_kind(attributes.content_type) in {"json", None}:
        # Some producers put a JSON document in a string; a JSON datacontenttype (or none) means it is one.
        return data.encode("utf-8"), attributes
    return data, attributes


def _event_time(value: Any) -> float:
    if type(value) is str:
        try:
            return parse_datetime_text(value)
        except (ValueError, OverflowError) as exc:
            raise Rejected(
                ErrorClass.INVALID_CLOUDEVENT,
                f"CloudEvent attribute 'time' is not an RFC 3339 time: {describe(value)}",
            ) from exc
    if (type(value) is int or type(value) is float) and math.isfinite(value):
        return float(value)  # not in the spec, but an epoch number is unambiguous enough to accept
    raise Rejected(
        ErrorClass.INVALID_CLOUDEVENT,
        f"CloudEvent attribute 'time' must be an RFC 3339 string, got {describe(value)}",
    )


def _text(value: bytes | str) -> str:
    if isinstance(value, str):
        return value
    return bytes(value).decode("utf-8", "replace")
