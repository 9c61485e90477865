"""The streaming side: decoders, tumbling windows, and the aiokafka loop that judges each window.

Messages (Kafka records or HTTP CloudEvents) are decoded into column arrays, folded into the open
window's :class:`~sidecar.stats.profile.Profile`, and evaluated against the contract when the window
closes; offsets are committed only once a window's results are published.
"""

from sidecar.stream.decoders import DecodedBatch, RawMessage, make_decoder
from sidecar.stream.service import SidecarService
from sidecar.stream.topic import TopicStream
from sidecar.stream.windows import Window, WindowSet

__all__ = ["DecodedBatch", "RawMessage", "SidecarService", "TopicStream", "Window", "WindowSet", "make_decoder"]
