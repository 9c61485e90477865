"""``auto`` format: tell the formats apart per message, then let each format decode its group at once.

Arrow is recognised by its IPC continuation marker or ``ARROW1`` file magic (or an Arrow content type);
JSON objects by their keys (:func:`~sidecar.decoders.dispatch.sniff_json_format`). All JSON groups
share one builder, so each schema column is still typed in one pass for the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from sidecar.decoders.assemble import JsonBatchBuilder
from sidecar.decoders.base import DecodedBatch, DecoderOptions, RawMessage
from sidecar.decoders.dispatch import JSON_FORMATS, Prepared, prepare
from sidecar.decoders.pipeline import FormatDecoder, JsonFormatDecoder, with_errors
from sidecar.decoders.registry import DECODERS, load_lazy_formats, register_decoder
from sidecar.decoders.typed import TypedModel

__all__ = ["AutoDecoder"]


@register_decoder
class AutoDecoder(FormatDecoder):
    """Decode a batch that may mix every format, detecting each message's format.

    A flat message whose feature happens to be named ``values``, ``columns``, ``inputs``, ``outputs``,
    ``instances`` or ``predictions`` *and* holds an object or list would be taken for another format:
    configure the explicit format for such a model.

    Examples
    --------
    >>> from sidecar.stats.kinds import ColumnKind
    >>> from sidecar.decoders import RawMessage, make_decoder
    >>> decoder = make_decoder("auto", {"age": ColumnKind.NUMERIC})
    >>> batch = decoder.decode([
    ...     RawMessage(b'{"age": 1, "timestamp": 0}'),
    ...     RawMessage(b'{"columns": {"age": [2, 3]}, "timestamp": 0}'),
    ...     RawMessage(b'{"values": {"age": 4}, "timestamp": 0}'),
    ... ])
    >>> batch.columns["age"], batch.message_index
    (array([1., 2., 3., 4.]), array([0, 1, 1, 2]))
    """

    format_name = "auto"
    detects_format = True

    def __init__(self, options: DecoderOptions) -> None:
        super().__init__(options)
        # Read from the registry so the formats auto knows are exactly the registered ones.
        self._json: dict[str, JsonFormatDecoder] = {}
        for name in sorted(JSON_FORMATS):
            decoder = DECODERS[name](options)
            assert isinstance(decoder, JsonFormatDecoder), f"format {name!r} is not a JSON format"
            self._json[name] = decoder
        load_lazy_formats()
        self._arrow = DECODERS["arrow"](options)
        #: The JSON formats' typed parsers (record, flat, columns), tried before the general parse.
        self.typed: dict[str, TypedModel] = {
            name: decoder.typed for name, decoder in self._json.items() if decoder.typed is not None
        }
        self._guess: str | None = None

    def decode(self, messages: Sequence[RawMessage]) -> DecodedBatch:
        # The format the last batch ended with is the best guess for this one's first message.
        prepared = prepare(messages, None, self.typed, first_guess=self._guess)
        self._guess = prepared.last_typed_format
        return with_errors(self.decode_prepared(prepared), prepared.errors)

    def decode_prepared(self, prepared: Prepared) -> DecodedBatch:
        batches: list[DecodedBatch] = []
        if prepared.json_groups or prepared.typed_groups:
            builder = JsonBatchBuilder(self.options, prepared)
            for name, (indexes, taken) in prepared.typed_groups.items():
                self._json[name].collect_typed(indexes, taken, builder)
            for name, (indexes, objects) in prepared.json_groups.items():
                self._json[name].collect(indexes, objects, builder)
            batches.append(builder.finish())
        if prepared.arrow_group[0]:
            batches.append(self._arrow.decode_prepared(prepared))
        return DecodedBatch.concat(batches, self.options.schema)
