"""An index of the pair table by deadline, so a sweep touches only what falls due.

The sweep used to walk the whole table every ``join.sweep_seconds``: seconds of event-loop time with
a million waiting predictions, during which neither agent ran. :class:`ExpiryIndex` files every key
written to the table under its deadline, in one-second buckets (a key list and an ``array('d')`` of
deadlines each, so a waiting entry costs a list slot and 8 bytes besides its key, which the table's
in-memory objects already hold), with a heap of bucket numbers. :meth:`ExpiryIndex.due` hands out the keys
whose deadline has passed, at most ``limit`` at a time, oldest bucket first.

A key whose entry changed after it was filed (a waiting prediction that joined) stays filed under its
old deadline as well; the joiner re-reads the entry and skips it when its current deadline has not
passed, since the new one was filed when it was written.
"""

from __future__ import annotations

import heapq
import math
from array import array

import numpy as np

__all__ = ["ExpiryIndex"]


class _Bucket:
    __slots__ = ("deadlines", "keys")

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.deadlines = array("d")


class ExpiryIndex:
    """Keys by deadline (epoch seconds).

    Parameters
    ----------
    bucket_seconds : width of a bucket; a sweep looks at the deadlines of the bucket "now" falls in only

    Examples
    --------
    >>> index = ExpiryIndex()
    >>> index.add(b"a", 10.5); index.add(b"b", 12.0); index.add(b"c", 10.9)
    >>> index.due(11.0)
    ([b'a', b'c'], False)
    >>> len(index)
    1
    """

    def __init__(self, bucket_seconds: float = 1.0) -> None:
        self.bucket_seconds = bucket_seconds
        self._buckets: dict[int, _Bucket] = {}
        self._heap: list[int] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def clear(self) -> None:
        """Forget every key (before a rebuild from the table)."""
        self._buckets.clear()
        self._heap.clear()
        self._size = 0

    def add(self, key: bytes, deadline: float) -> None:
        """File ``key`` under ``deadline``."""
        self._extend(math.floor(deadline / self.bucket_seconds), [key], [deadline])

    def add_many(self, keys: list[bytes], deadlines: list[float]) -> None:
        """File each of ``keys`` under its deadline: grouped by bucket, each group with two list extends. A
        batch of events milliseconds apart falls in one bucket, or a few when it mixes waiting halves
        (deadline: their time plus the TTL) with pairs (the prediction's time plus TTL and one window)."""
        if not keys:
            return
        width = self.bucket_seconds
        first = math.floor(min(deadlines) / width)
        if first == math.floor(max(deadlines) / width):
            self._extend(first, keys, deadlines)
            return
        groups: dict[int, tuple[list[bytes], list[float]]] = {}
        for key, deadline in zip(keys, deadlines, strict=True):
            number = math.floor(deadline / width)
            group = groups.get(number)
            if group is None:
                group = groups[number] = ([], [])
            group[0].append(key)
            group[1].append(deadline)
        for number, (group_keys, group_deadlines) in groups.items():
            self._extend(number, group_keys, group_deadlines)

    def _extend(self, number: int, keys: list[bytes], deadlines: list[float]) -> None:
        bucket = self._buckets.get(number)
        if bucket is None:
            bucket = self._buckets[number] = _Bucket()
            heapq.heappush(self._heap, number)
        bucket.keys.extend(keys)
        bucket.deadlines.extend(deadlines)
        self._size += len(keys)

    def due(self, now: float, limit: int | None = None) -> tuple[list[bytes], bool]:
        """Remove and return keys whose deadline is before ``now``, at most ``limit``; and whether more
        are due (the limit stopped it)."""
        out: list[bytes] = []
        room = math.inf if limit is None else limit
        while self._heap and self._heap[0] * self.bucket_seconds < now:
            if len(out) >= room:
                return out, True
            number = self._heap[0]
            bucket = self._buckets[number]
            if (number + 1) * self.bucket_seconds <= now:  # every deadline in it has passed
                take = int(min(room - len(out), len(bucket.keys)))
                out.extend(bucket.keys[:take])
                if take == len(bucket.keys):
                    self._pop(number)
                else:
                    del bucket.keys[:take]
                    del bucket.deadlines[:take]
                    self._size -= take
                continue
            # The bucket "now" falls in: only the deadlines before now, and it stays.
            passed = np.flatnonzero(np.frombuffer(bucket.deadlines, dtype=np.float64) < now)
            more = len(passed) > room - len(out)
            passed = passed[: int(min(room - len(out), len(passed)))]
            if len(passed):
                out.extend(bucket.keys[i] for i in passed.tolist())
                keep = np.ones(len(bucket.keys), dtype=bool)
                keep[passed] = False
                kept = np.flatnonzero(keep).tolist()
                bucket.keys = [bucket.keys[i] for i in kept]
                bucket.deadlines = array("d", np.frombuffer(bucket.deadlines, dtype=np.float64)[keep].tobytes())
                self._size -= len(passed)
                if not bucket.keys:
                    self._pop(number)
            return out, more
        return out, False

    def _pop(self, number: int) -> None:
        heapq.heappop(self._heap)
        self._size -= len(self._buckets.pop(number).keys)
