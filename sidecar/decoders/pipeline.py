"""The decode pipeline every format shares: route (``dispatch``), decode the format's group, merge errors.

A format is a subclass of :class:`FormatDecoder` registered under its name. JSON formats subclass
:class:`JsonFormatDecoder` and only say how their objects become rows (:meth:`JsonFormatDecoder.collect`);
typing against the schema is common to all of them (``assemble``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from sidecar.decoders.assemble import JsonBatchBuilder
from sidecar.decoders.base import DecodedBatch, DecoderOptions, MessageError, RawMessage
from sidecar.decoders.dispatch import Prepared, prepare
from sidecar.decoders.typed import TypedModel, typed_model

__all__ = ["FormatDecoder", "JsonFormatDecoder", "with_errors"]


class FormatDecoder:
    """Base of the registered decoders; implements the :class:`~sidecar.decoders.base.Decoder` protocol.

    Subclasses set :attr:`format_name` and implement :meth:`decode_prepared`.

    Parameters
    ----------
    options
        Validated options (see ``make_decoder``).
    """

    format_name: ClassVar[str] = ""
    """Name the format is registered under (``"record"``, ``"arrow"``, ...)."""
    detects_format: ClassVar[bool] = False
    """Whether the router tells formats apart per message (``auto``) instead of assuming this one."""

    def __init__(self, options: DecoderOptions) -> None:
        self.options = options

    def __repr__(self) -> str:
        return f"{type(self).__name__}(columns={len(self.options.schema)})"

    def decode(self, messages: Sequence[RawMessage]) -> DecodedBatch:
        """Decode a batch; bad messages become ``errors``, never exceptions.

        Parameters
        ----------
        messages
            The batch, in order; error and row ``message_index`` values index into it.

        Returns
        -------
        DecodedBatch
            Typed columns of the accepted messages' rows, with the rejected messages' errors.
        """
        prepared = prepare(messages, None if self.detects_format else self.format_name)
        return with_errors(self.decode_prepared(prepared), prepared.errors)

    def decode_prepared(self, prepared: Prepared) -> DecodedBatch:
        """Decode the payloads routed to this format (errors found while routing are added by the caller)."""
        raise NotImplementedError


class JsonFormatDecoder(FormatDecoder):
    """A format whose payload is a JSON object; subclasses implement :meth:`collect`.

    A format with a typed parser (``typed``) also implements :meth:`collect_typed` for the messages that
    parser took.
    """

    def __init__(self, options: DecoderOptions) -> None:
        super().__init__(options)
        self.typed: TypedModel | None = typed_model(self.format_name, options)

    def decode(self, messages: Sequence[RawMessage]) -> DecodedBatch:
        prepared = prepare(messages, self.format_name, {self.format_name: self.typed} if self.typed else None)
        return with_errors(self.decode_prepared(prepared), prepared.errors)

    def decode_prepared(self, prepared: Prepared) -> DecodedBatch:
        builder = JsonBatchBuilder(self.options, prepared)
        indexes, structs = prepared.typed_groups.get(self.format_name, ([], []))
        if indexes:
            self.collect_typed(indexes, structs, builder)
        indexes, objects = prepared.json_groups.get(self.format_name, ([], []))
        self.collect(indexes, objects, builder)
        return builder.finish()

    def collect(self, indexes: list[int], objects: list[dict[str, Any]], builder: JsonBatchBuilder) -> None:
        """Hand the rows of ``objects`` (messages ``indexes``) to ``builder``, rejecting malformed ones."""
        raise NotImplementedError

    def collect_typed(self, indexes: list[int], structs: list[Any], builder: JsonBatchBuilder) -> None:
        """Like :meth:`collect`, for the structs of the format's typed parser (``self.typed``)."""
        raise NotImplementedError


def with_errors(batch: DecodedBatch, errors: list[MessageError]) -> DecodedBatch:
    """Add ``errors`` to the batch's own, keeping them sorted by message index."""
    if errors:
        batch.errors = sorted([*batch.errors, *errors], key=lambda error: error.index)
    return batch
