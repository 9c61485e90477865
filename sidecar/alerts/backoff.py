"""Retry pacing shared by the alert sinks: exponential backoff with a ceiling, reset on success."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """Delays of ``first``, ``2*first``, ... up to ``ceiling`` seconds between failed attempts.

    >>> b = Backoff(first=0.5, ceiling=2.0)
    >>> [b.next() for _ in range(4)], b.reset(), b.next()
    ([0.5, 1.0, 2.0, 2.0], None, 0.5)
    """

    first: float = 0.5
    ceiling: float = 30.0
    _current: float = field(default=0.0, init=False)

    def next(self) -> float:
        """The delay before the next attempt."""
        self._current = self.first if self._current == 0.0 else min(self._current * 2, self.ceiling)
        return self._current

    def reset(self) -> None:
        """After a success: the next failure waits ``first`` again."""
        self._current = 0.0
