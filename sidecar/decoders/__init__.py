"""Message decoders: a batch of raw Kafka records or HTTP bodies in, typed column arrays out.

One module per format (``record``, ``flat``, ``columns``, ``oip``, ``arrow``, and ``auto`` which tells
them apart), all registered by name and built with :func:`make_decoder`. Every format shares the same
stages: ``dispatch`` reads headers, unwraps CloudEvents (binary and structured mode) and parses JSON,
first with the format's typed parser (``typed``: msgspec, built from the contract; record, flat,
columns and KServe V2 oip), else with orjson; the format turns its payloads into rows; ``assemble`` (JSON) or the Arrow
reader types each contract column once for the whole batch with numpy. A message that does not decode or does not fit
the contract's types is rejected whole with a :class:`MessageError`; the decoder never raises for bad
input. Formats are documented, with JSON Schemas and examples, in ``schemas/messages/``.
"""

from __future__ import annotations

from typing import Any

# The format modules register themselves on import; importing them here fills the registry. The Arrow
# format (and pyarrow with it) loads on first use: see sidecar.decoders.registry.
from sidecar.decoders import auto, columns, flat, oip, record  # noqa: F401
from sidecar.decoders.auto import AutoDecoder
from sidecar.decoders.base import (
    DecodedBatch,
    Decoder,
    DecoderOptions,
    ErrorClass,
    MessageError,
    RawMessage,
)
from sidecar.decoders.columns import ColumnsDecoder
from sidecar.decoders.flat import FlatDecoder
from sidecar.decoders.oip import OipDecoder
from sidecar.decoders.pipeline import FormatDecoder, JsonFormatDecoder
from sidecar.decoders.record import RecordDecoder
from sidecar.decoders.registry import DECODERS, available_formats, make_decoder, register_decoder

__all__ = [
    "DECODERS",
    "ArrowDecoder",
    "AutoDecoder",
    "ColumnsDecoder",
    "DecodedBatch",
    "Decoder",
    "DecoderOptions",
    "ErrorClass",
    "FlatDecoder",
    "FormatDecoder",
    "JsonFormatDecoder",
    "MessageError",
    "OipDecoder",
    "RawMessage",
    "RecordDecoder",
    "available_formats",
    "make_decoder",
    "register_decoder",
]


def __getattr__(name: str) -> Any:
    if name == "ArrowDecoder":
        from sidecar.decoders.arrow import ArrowDecoder

        return ArrowDecoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
