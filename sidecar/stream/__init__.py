"""The streaming side: decoders, tumbling windows, the engine that judges them, and the aiokafka loop.

Messages (Kafka records or HTTP CloudEvents) are decoded into column arrays, folded into the open
window's :class:`~sidecar.stats.profile.Profile`, and evaluated against the contract when the window
closes; offsets are committed only once a window's results are published. The
:class:`~sidecar.stream.engine.StreamEngine` (decode, windows, evaluation) runs in an ingest worker process
(:mod:`sidecar.stream.worker`, fed through :mod:`sidecar.stream.ring`); :class:`SidecarService` fetches,
serves and commits in the main process, whose Kafka reads go through :mod:`sidecar.kafka.fastio`
(responses received in place, record CRCs in hardware) when ``kafka.fast_io`` is on.
"""

from sidecar.decoders import DecodedBatch, RawMessage, make_decoder
from sidecar.stream.engine import StreamEngine
from sidecar.stream.service import SidecarService
from sidecar.stream.topic import TopicStream
from sidecar.stream.windows import Window, WindowSet

__all__ = [
    "DecodedBatch",
    "RawMessage",
    "SidecarService",
    "StreamEngine",
    "TopicStream",
    "Window",
    "WindowSet",
    "make_decoder",
]
