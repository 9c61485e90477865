"""Log lines a person can act on: the same complaint once per interval, with how many were held back."""

from __future__ import annotations

import logging
import time
from typing import Any

__all__ = ["RateLimitedLog"]


class RateLimitedLog:
    """Emits a message at most once per ``interval`` seconds per message template; the next emitted line
    says how many were suppressed in between.

    >>> import logging
    >>> limited = RateLimitedLog(logging.getLogger("demo"), interval=60.0)
    >>> [limited.log(logging.WARNING, "broker down (%s)", i) for i in range(3)]
    [True, False, False]
    >>> limited.suppressed("broker down (%s)")
    2
    """

    def __init__(self, logger: logging.Logger, interval: float) -> None:
        self.logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def log(self, level: int, msg: str, *args: Any) -> bool:
        """Log ``msg % args`` unless the same template was logged less than ``interval`` ago."""
        now = time.monotonic()
        last = self._last.get(msg)
        if last is not None and now - last < self.interval:
            self._held[msg] = self._held.get(msg, 0) + 1
            return False
        held = self._held.pop(msg, 0)
        self._last[msg] = now
        suffix = f" ({held} more like this in the last {now - last:.0f}s)" if held and last is not None else ""
        self.logger.log(level, msg + suffix, *args)
        return True

    def suppressed(self, msg: str) -> int:
        """How many lines of ``msg`` were held back since it was last logged."""
        return self._held.get(msg, 0)
