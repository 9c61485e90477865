"""aiokafka's expected noise below WARNING, and its stop() quirk absorbed.

While a broker is down aiokafka logs ERROR lines many times a second (connection refused, metadata,
fetch and heartbeat failures), all of which it retries by design; the sidecar itself says "kafka
unreachable" once and counts the errors. :class:`ExpectedNoiseFilter` lowers those lines to INFO and lets
one of each kind through per interval, with how many were held back. Anything aiokafka logs that is not a
known transient failure keeps its level.

``AIOKafkaConsumer.stop()`` in aiokafka 0.14.0 awaits fetch tasks it has just cancelled, so a task sleeping
in its retry back-off raises ``CancelledError`` out of ``stop()`` (aio-libs/aiokafka#647):
:func:`stop_quietly` absorbs that one, and still re-raises a cancellation of the caller's own task.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable

from sidecar.logs import Throttle

__all__ = ["EXPECTED_PATTERNS", "ExpectedNoiseFilter", "install_noise_filter", "stop_quietly"]

log = logging.getLogger(__name__)

#: Transient failures aiokafka retries on its own (message starts).
EXPECTED_PATTERNS = (
    "Unable connect to",
    "Unable to update metadata",
    "Unable to request metadata",
    "Failed fetch messages from",
    "Group Coordinator Request failed",
    "Heartbeat send request failed",
    "Error sending HeartbeatRequest",
    "Marking the coordinator dead",
    "LeaveGroup request failed",
    "OffsetCommit failed",
    "Got error produce response",
    "Topic .* not found in cluster metadata",
    "No partition metadata",
)
_EXPECTED = re.compile("|".join(f"(?:{p})" for p in EXPECTED_PATTERNS))


class ExpectedNoiseFilter(logging.Filter):
    """Lowers aiokafka's expected failures to INFO, at most one line per kind per ``interval`` seconds."""

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__()
        self.throttle = Throttle(interval)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        match = _EXPECTED.match(message)
        if match is None:
            return True
        admitted, held, _ = self.throttle.admit(match.group(0))
        if not admitted:
            return False
        record.levelno, record.levelname = logging.INFO, "INFO"
        if held:
            record.msg, record.args = f"{message} ({held} more like this held back)", None
        return True


def install_noise_filter(interval: float = 60.0) -> ExpectedNoiseFilter:
    """Put one :class:`ExpectedNoiseFilter` on aiokafka's loggers (idempotent: the loggers say whether it is there,
    so no table of this module remembers it)."""
    installed = next((f for f in logging.getLogger("aiokafka").filters if isinstance(f, ExpectedNoiseFilter)), None)
    if installed is not None:
        return installed
    import aiokafka  # noqa: F401  (its modules create their loggers on import)

    noise = ExpectedNoiseFilter(interval)
    # A logger's filters see only its own records, not its children's: every aiokafka module logger gets it.
    names = {"aiokafka", *(n for n in logging.Logger.manager.loggerDict if n.startswith("aiokafka."))}
    for name in sorted(names):
        logging.getLogger(name).addFilter(noise)
    return noise


async def stop_quietly(stopping: Awaitable[object]) -> None:
    """Await a Kafka client's ``stop()``/``close()``, ignoring its errors and aiokafka's stray
    ``CancelledError``; a cancellation of the calling task itself is re-raised."""
    try:
        await stopping
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.debug("aiokafka raised CancelledError while stopping a client (aio-libs/aiokafka#647); ignored")
    except Exception as exc:  # a client that cannot stop cleanly is gone all the same
        log.debug("error while stopping a Kafka client: %s", exc)
