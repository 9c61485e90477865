"""Requests the HTTP parser refuses are the client's fault: one INFO line each kind, not an ERROR traceback.

aiohttp answers a request it cannot parse (a header with a control character, a line over 8 KiB, a bad
chunk) with a 400 itself, before any middleware, and logs it on ``aiohttp.server`` at ERROR with a full
traceback. For a server on a network that is noise an attacker can produce at will, and it hides real
errors. :class:`MalformedRequestFilter` turns those records into one INFO line (the error, cut to 200
characters) and lets one of each kind through per interval, with how many were held back; every other
record of that logger keeps its level.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

from sidecar.logs import Throttle

__all__ = ["MalformedRequestFilter", "install_request_noise_filter"]


class MalformedRequestFilter(logging.Filter):
    """Lowers aiohttp's "Error handling request" records for unparsable requests to one throttled INFO line."""

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__()
        self.throttle = Throttle(interval)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        kind = type(exc).__name__
        admitted, held, _ = self.throttle.admit(kind)
        if not admitted:
            return False
        text = " ".join(str(exc.message).split())[:200]
        suffix = f" ({held} more like this held back)" if held else ""
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.msg, record.args = f"refused a malformed request with {exc.code}: {kind}: {text}{suffix}", None
        record.exc_info, record.exc_text = None, None
        return True


def install_request_noise_filter(interval: float = 60.0) -> MalformedRequestFilter:
    """Put one :class:`MalformedRequestFilter` on ``aiohttp.server`` (idempotent)."""
    logger = logging.getLogger("aiohttp.server")
    found = next((f for f in logger.filters if isinstance(f, MalformedRequestFilter)), None)
    if found is not None:
        return found
    noise = MalformedRequestFilter(interval)
    logger.addFilter(noise)
    return noise
