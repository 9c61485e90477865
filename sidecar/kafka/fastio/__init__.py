"""Faster Kafka I/O for aiokafka in the sidecar's main process (``kafka.fast_io``).

Two independent speed-ups of the consumer's hot path, each measured on Arrow batches of 2.9 MB with a
plain aiokafka consumer (``benchmarks/stream_throughput.py``, column (a+)):

- :mod:`.frames`: fetch responses are received straight into their own buffer instead of through
  ``asyncio.StreamReader``;
- :mod:`.crc`: record-batch CRC32C in hardware instead of aiokafka's software loop.

Both change module-level names of aiokafka, so they apply to every aiokafka client of the process while
installed. A service scopes them to its own life with an :class:`Installation`: ``apply()`` at start,
``undo()`` at stop, which puts back what it replaced (:func:`install` and :func:`uninstall` do the same
for the whole process, for benchmarks and tests). Both mirror private parts of one aiokafka release, and
frames also asyncio internals of the Pythons it was checked on (:mod:`.release`); each checks its guard
and with anything else does not install. Each is also skipped when it does not apply for its own reason (no
hardware CRC32C), and then aiokafka behaves exactly as stock.
"""

from __future__ import annotations

from types import ModuleType, TracebackType

import aiokafka.conn as _conn
import aiokafka.consumer.fetcher as _fetcher

from . import crc, frames, release

__all__ = ["PATCHED", "Installation", "crc", "frames", "install", "release", "uninstall"]

#: Every aiokafka name a half replaces: (module, name, aiokafka's own object).
PATCHED: tuple[tuple[ModuleType, str, object], ...] = (
    (_conn, "AIOKafkaConnection", _conn.AIOKafkaConnection),
    (_fetcher, "MemoryRecords", _fetcher.MemoryRecords),
    (_fetcher, "PartitionRecords", _fetcher.PartitionRecords),
)


def install() -> list[str]:
    """Apply every speed-up that applies here, for the whole process; returns the names of those applied."""
    applied = []
    if frames.install():
        applied.append("frames")
    if crc.install():
        applied.append("crc")
    return applied


def uninstall() -> None:
    """Put aiokafka's own classes back (connections already open keep their transport)."""
    for module, name, stock in PATCHED:
        setattr(module, name, stock)


class Installation:
    """The speed-ups for as long as one user needs them: :meth:`apply`, then :meth:`undo` (or ``with``).

    ``undo`` puts back what ``apply`` replaced, and only where the name still holds what ``apply`` put
    there: two services of one process each undo their own, and once both stopped aiokafka is stock again
    (if the first one stops first, the second one's later connections are stock: slower, never wrong).
    """

    def __init__(self) -> None:
        self.applied: list[str] = []
        self._replaced: list[tuple[ModuleType, str, object, object]] = []

    def apply(self) -> list[str]:
        """Install what applies here (see :func:`install`); returns the names of the halves applied."""
        before = [(module, name, getattr(module, name)) for module, name, _ in PATCHED]
        self.applied = install()
        self._replaced = [(module, name, old, getattr(module, name)) for module, name, old in before
                          if getattr(module, name) is not old]
        return self.applied

    def undo(self) -> None:
        """Put back what :meth:`apply` replaced. Idempotent."""
        for module, name, old, new in self._replaced:
            if getattr(module, name) is new:
                setattr(module, name, old)
        self._replaced = []
        self.applied = []

    def __enter__(self) -> Installation:
        self.apply()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.undo()
