"""Decoding the joiner's two streams, a batch of Kafka records at a time.

Predictions keep every message format the sidecar decodes (``record``, ``flat``, ``columns``, ``oip``,
``arrow``, CloudEvents; ``format`` from the join settings): the joiner builds the same decoder as
``sidecar run`` (:func:`sidecar.decoders.make_decoder`) with one column, the score. Outcomes are
JSON objects ``{"request_id": ..., "timestamp": ..., "label": ...}`` (or any of the JSON formats) with
the label a number or a boolean. A record without a request id in its body uses its Kafka key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sidecar.config import JoinSettings
from sidecar.decoders import Decoder, RawMessage, make_decoder
from sidecar.join.joiner import Half
from sidecar.stats.kinds import ColumnKind

__all__ = ["Half", "OutcomeReader", "PredictionReader", "label_value"]


def label_value(raw: object) -> float:
    """A label as a float: numbers as they are, booleans and ``"true"``/``"false"`` as 1/0; else NaN.

    Examples
    --------
    >>> label_value(True), label_value("false"), label_value(3), label_value("x")
    (1.0, 0.0, 3.0, nan)
    """
    if isinstance(raw, bool | np.bool_):
        return float(raw)
    if isinstance(raw, int | float | np.integer | np.floating):
        return float(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in ("true", "false"):
            return 1.0 if text == "true" else 0.0
        try:
            return float(text)
        except ValueError:
            return math.nan
    return math.nan


class _Reader:
    def __init__(self, decoder: Decoder, column: str) -> None:
        self.decoder = decoder
        self.column = column

    def read(self, value: bytes | None, key: bytes | None = None,
             headers: Sequence[tuple[str, bytes]] = (), timestamp: float | None = None) -> list[Half] | None:
        """The halves in one record (a ``columns`` or Arrow message can hold several); None if it does
        not decode or lacks an id or value."""
        message = RawMessage(value, tuple(headers), None if timestamp is None else int(timestamp * 1000), key)
        halves, rejected = self.read_batch([message])
        return None if rejected or not halves else halves

    def read_batch(self, messages: Sequence[RawMessage]) -> tuple[list[Half], int]:
        """The halves of a batch of records, decoded at once, in message order; and how many messages were
        rejected (undecodable, or a row without a request id, time or value)."""
        batch = self.decoder.decode(messages)
        bad = {e.index for e in batch.errors}
        values = self._values(batch.columns[self.column])
        halves: list[Half] = []
        for index, rid, when, v in zip(batch.message_index.tolist(), batch.request_ids, batch.timestamps.tolist(),
                                       values, strict=True):
            request_id = rid.encode() if isinstance(rid, str) and rid else messages[index].key
            if not request_id or v != v or when != when:  # NaN != NaN
                bad.add(index)
                continue
            halves.append(Half(request_id, when, v))
        return halves, len(bad)

    def _values(self, column: object) -> list[float]:
        return np.asarray(column, dtype=np.float64).tolist()  # type: ignore[no-any-return]


class PredictionReader(_Reader):
    """Predictions: the score (probability of the positive class, or the predicted value)."""

    def __init__(self, settings: JoinSettings) -> None:
        decoder = make_decoder(settings.format or "auto", {settings.score_field: ColumnKind.NUMERIC},
                               request_id_key=settings.id_field, timestamp_key=settings.timestamp_field)
        super().__init__(decoder, settings.score_field)


class OutcomeReader(_Reader):
    """Outcomes: the true label (0/1, a boolean) or value."""

    def __init__(self, settings: JoinSettings) -> None:
        # Categorical, so booleans pass the decoder; label_value turns them into numbers.
        decoder = make_decoder("auto", {settings.label_field: ColumnKind.CATEGORICAL},
                               request_id_key=settings.id_field, timestamp_key=settings.timestamp_field)
        super().__init__(decoder, settings.label_field)

    def _values(self, column: object) -> list[float]:
        return [label_value(v) for v in np.asarray(column, dtype=object)]
