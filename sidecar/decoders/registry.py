"""The format registry: name to decoder class, and :func:`make_decoder` which reads it."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from sidecar.decoders.base import Decoder, DecoderOptions
from sidecar.decoders.pipeline import FormatDecoder
from sidecar.errors import ConfigurationError, UnknownNameError
from sidecar.stats.kinds import ColumnKind

__all__ = [
    "DECODERS",
    "LAZY_FORMATS",
    "available_formats",
    "format_names",
    "load_lazy_formats",
    "make_decoder",
    "register_decoder",
]

DECODERS: dict[str, type[FormatDecoder]] = {}

#: Formats whose module is imported on first use (Arrow pulls in pyarrow, which a process that never
#: decodes, such as the sidecar's main loop next to its ingest worker, should not pay for).
LAZY_FORMATS = {"arrow": "sidecar.decoders.arrow"}


def load_lazy_formats() -> None:
    """Import the modules of the :data:`LAZY_FORMATS` not registered yet (they register on import)."""
    for name, module in LAZY_FORMATS.items():
        if name not in DECODERS:
            importlib.import_module(module)

_D = TypeVar("_D", bound=type[FormatDecoder])


def register_decoder(cls: _D) -> _D:
    """Class decorator: register a decoder under its ``format_name``.

    Raises
    ------
    ConfigurationError
        The class has no name, or the name is already taken.
    """
    name = cls.format_name
    if not name:
        raise ConfigurationError(f"{cls.__qualname__} has no format_name to register under")
    if name in DECODERS:
        raise ConfigurationError(
            f"message format {name!r} is already registered (by {DECODERS[name].__qualname__}); "
            f"cannot register {cls.__qualname__} under the same name"
        )
    DECODERS[name] = cls
    return cls


def available_formats() -> list[str]:
    """The registered format names, sorted (importing the lazy formats' modules)."""
    load_lazy_formats()
    return sorted(DECODERS)


def format_names() -> list[str]:
    """The registered format names and the lazy ones, sorted, without importing the lazy formats' modules.

    What the settings accept as a topic's ``format`` (the sidecar's main process never decodes, so it
    should not load pyarrow to check a name).

    Examples
    --------
    >>> format_names() == available_formats()
    True
    """
    return sorted(set(DECODERS) | set(LAZY_FORMATS))


def make_decoder(
    fmt: str,
    schema: Mapping[str, ColumnKind] | Mapping[str, ColumnKind | str],
    *,
    request_id_key: str = "request_id",
    timestamp_key: str = "timestamp",
    oip_columns: Mapping[str, Sequence[str]] | None = None,
    now: Callable[[], float] = time.time,
    coded_categories: bool = False,
) -> Decoder:
    """Build the decoder for message format ``fmt``.

    Parameters
    ----------
    fmt
        A registered format: ``"auto"``, ``"record"``, ``"flat"``, ``"columns"``, ``"oip"``, ``"arrow"``.
    schema
        Contract column name to :class:`~sidecar.stats.kinds.ColumnKind` (or its string value).
    request_id_key, timestamp_key
        Payload fields (or Arrow columns) holding the request id and the row time.
    oip_columns
        For ``oip``: tensor name (``"instances"`` / ``"predictions"`` for KServe V1) to the contract
        columns of its second dimension, by index.
    now
        Clock used for rows with no time in payload, headers or Kafka record (epoch seconds).
    coded_categories
        Arrow categorical and boolean columns as :class:`~sidecar.stats.coded.CodedValues` (dictionary
        codes) instead of ``object`` arrays; for consumers that only count them, such as the profile.

    Returns
    -------
    Decoder
        An object whose ``decode(messages)`` returns a ``DecodedBatch``.

    Raises
    ------
    UnknownNameError
        ``fmt`` is not registered; the message lists the registered names.
    ConfigurationError
        A bad schema kind, key or ``oip_columns`` entry.

    Examples
    --------
    >>> from sidecar.decoders import RawMessage
    >>> decoder = make_decoder("auto", {"age": ColumnKind.NUMERIC, "plan": ColumnKind.CATEGORICAL})
    >>> batch = decoder.decode([RawMessage(b'{"values": {"age": 41, "plan": "pro"}, "timestamp": 0}')])
    >>> batch.columns["age"], batch.columns["plan"], batch.timestamps
    (array([41.]), array(['pro'], dtype=object), array([0.]))
    """
    load_lazy_formats()
    cls = DECODERS.get(fmt) if isinstance(fmt, str) else None
    if cls is None:
        raise UnknownNameError(f"unknown message format {fmt!r}; accepted formats: {', '.join(available_formats())}")
    options = DecoderOptions.build(
        schema, request_id_key=request_id_key, timestamp_key=timestamp_key, oip_columns=oip_columns, now=now,
        coded_categories=coded_categories,
    )
    return cls(options)
