"""The streaming side of ``sidecar run``: tumbling windows, the engine that judges them, the aiokafka loop.

Messages (Kafka records or HTTP CloudEvents, decoded by :mod:`sidecar.decoders`) are folded into the open
window's :class:`~sidecar.stats.profile.Profile` and evaluated against the contract when the window
closes. The :class:`~sidecar.stream.engine.StreamEngine` (decode, :mod:`~sidecar.stream.windows`,
evaluation; no I/O) runs in an ingest worker process (:mod:`~sidecar.stream.worker`, fed through
:mod:`~sidecar.stream.ring`) or in-process; :class:`SidecarService` fetches, applies the engine's answers
in order (:mod:`~sidecar.stream.answers`), publishes (:mod:`~sidecar.stream.publisher`,
:mod:`~sidecar.stream.deadletter`, and to the control room :mod:`~sidecar.stream.control` with
:mod:`~sidecar.stream.sink`) and commits only past published windows (:mod:`~sidecar.stream.ledger`,
:mod:`~sidecar.stream.commits`, :mod:`~sidecar.stream.replay`). Kafka clients, probe and fast I/O come
from :mod:`sidecar.kafka`, below.
"""

from sidecar.decoders import DecodedBatch, RawMessage, make_decoder
from sidecar.stream.engine import StreamEngine
from sidecar.stream.service import SidecarService
from sidecar.stream.streams import StreamInfo
from sidecar.stream.topic import TopicStream
from sidecar.stream.windows import Window, WindowSet

__all__ = [
    "DecodedBatch",
    "RawMessage",
    "SidecarService",
    "StreamEngine",
    "StreamInfo",
    "TopicStream",
    "Window",
    "WindowSet",
    "make_decoder",
]
