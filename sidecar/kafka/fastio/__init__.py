"""Faster Kafka I/O for aiokafka in the sidecar's main process (``kafka.fast_io``).

Two independent speed-ups of the consumer's hot path, each measured on Arrow batches of 2.9 MB with a
plain aiokafka consumer (``benchmarks/stream_throughput.py``, column (a+)):

- :mod:`.frames`: fetch responses are received straight into their own buffer instead of through
  ``asyncio.StreamReader``;
- :mod:`.crc`: record-batch CRC32C in hardware instead of aiokafka's software loop.

Both change module-level names of aiokafka, so they apply to every aiokafka client of the process from
:func:`install` until :func:`uninstall`. Both mirror private parts of one aiokafka release
(:mod:`.release`), and each checks it: with any other release neither installs. Each is also skipped when
it does not apply for its own reason (no hardware CRC32C), and then aiokafka behaves exactly as stock.
"""

from __future__ import annotations

import aiokafka.conn as _conn
import aiokafka.consumer.fetcher as _fetcher

from . import crc, frames, release

_STOCK = {
    (_conn, "AIOKafkaConnection"): _conn.AIOKafkaConnection,
    (_fetcher, "MemoryRecords"): _fetcher.MemoryRecords,
    (_fetcher, "PartitionRecords"): _fetcher.PartitionRecords,
}


def install() -> list[str]:
    """Apply every speed-up that applies here; returns the names of those applied."""
    applied = []
    if frames.install():
        applied.append("frames")
    if crc.install():
        applied.append("crc")
    return applied


def uninstall() -> None:
    """Put aiokafka's own classes back (connections already open keep their transport)."""
    for (module, name), stock in _STOCK.items():
        setattr(module, name, stock)


__all__ = ["crc", "frames", "install", "release", "uninstall"]
