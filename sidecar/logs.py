"""Log lines a person can act on: the same complaint once per interval, with how many were held back."""

from __future__ import annotations

import logging
import time
from typing import Any

__all__ = ["RateLimitedLog", "Throttle"]


class Throttle:
    """Lets one event per key through per ``interval`` seconds and counts the ones it holds back.

    >>> t = Throttle(interval=60.0)
    >>> [t.admit("k") for _ in range(3)]
    [(True, 0, None), (False, 0, None), (False, 0, None)]
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def admit(self, key: str) -> tuple[bool, int, float | None]:
        """Whether to let ``key`` through now, how many were held back since the last one, and how many
        seconds ago that one was (``None`` the first time)."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self.held[key] = self.held.get(key, 0) + 1
            return False, 0, None
        held = self.held.pop(key, 0)
        self._last[key] = now
        return True, held, None if last is None else now - last

    def reset(self) -> None:
        """Forget every key."""
        self._last.clear()
        self.held.clear()


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
        self.throttle = Throttle(interval)

    def log(self, level: int, msg: str, *args: Any) -> bool:
        """Log ``msg % args`` unless the same template was logged less than ``interval`` ago."""
        admitted, held, ago = self.throttle.admit(msg)
        if not admitted:
            return False
        suffix = f" ({held} more like this in the last {ago:.0f}s)" if held and ago is not None else ""
        self.logger.log(level, msg + suffix, *args)
        return True

    def suppressed(self, msg: str) -> int:
        """How many lines of ``msg`` were held back since it was last logged."""
        return self.throttle.held.get(msg, 0)
