"""Tumbling windows by record timestamp, with allowed lateness and offset tracking for safe commits.

A window ``[start, end)`` collects rows into a :class:`~sidecar.stats.profile.Profile`. It closes when the
stream's time passes ``end + lateness``. With several Kafka partitions the stream's time is the *lowest*
of the assigned partitions' times (each the largest timestamp read from it): after a restart or a lag
spike one partition's backlog is read first, and the others' rows for the same windows are still to come;
closing on the fastest partition would drop them as late. A partition without records for
``partition_idle`` seconds (wall time) stops holding the windows open. Rows for a window that has
already closed are late: counted, not added. For at-least-once delivery without double counting, every
window remembers the smallest Kafka offset it holds per partition; offsets are committed only up to the
smallest offset any open window still holds (see :meth:`WindowSet.committable`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Container, Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np

from sidecar.decoders import DecodedBatch
from sidecar.stats.profile import Profile

__all__ = ["AddResult", "Window", "WindowSet"]


@dataclass
class Window:
    """One open (or just closed) tumbling window."""

    start: float
    end: float
    profile: Profile
    min_offsets: dict[Hashable, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows folded into this window."""
        return self.profile.n_rows


@dataclass(frozen=True)
class AddResult:
    """What happened to the rows of one batch."""

    accepted: int
    late: int


class WindowSet:
    """The open windows of one stream (one topic and its contract).

    Parameters
    ----------
    new_profile : makes an empty profile for a new window (the contract's current specs)
    size : window length in seconds
    lateness : how long after ``end`` (in stream time) a window stays open for late rows
    closed_until : windows ending at or before this are closed (restored from commit metadata on restart)
    """

    def __init__(
        self, new_profile: Callable[[], Profile], size: float, lateness: float, closed_until: float = -math.inf,
        partition_idle: float = 30.0,
    ) -> None:
        self._new_profile = new_profile
        self.size = size
        self.lateness = lateness
        self.closed_until = closed_until
        self.partition_idle = partition_idle
        #: The largest timestamp seen from any input.
        self.stream_time = -math.inf
        self.open: dict[int, Window] = {}
        #: Per Kafka partition: the largest timestamp read, and when (monotonic) it last had records.
        self.partition_time: dict[Hashable, float] = {}
        self._partition_seen: dict[Hashable, float] = {}
        #: The partitions this consumer holds (``None``: not told; the partitions seen count).
        self.assigned: set[Hashable] | None = None
        self._assigned_at = time.monotonic()

    def assign(self, partitions: Iterable[Hashable]) -> None:
        """The partitions of this stream the consumer now holds."""
        self.assigned = set(partitions)
        self._assigned_at = time.monotonic()

    def watermark(self, now: float | None = None) -> float:
        """The stream's time for closing windows: the lowest time of the assigned partitions that are not
        idle (a partition never read from counts from its assignment), or of all input if none hold it."""
        now = time.monotonic() if now is None else now
        parts = self.assigned if self.assigned is not None else set(self.partition_time)
        times = [self.partition_time.get(p, -math.inf) for p in parts
                 if now - self._partition_seen.get(p, self._assigned_at) < self.partition_idle]
        return min(times) if times else self.stream_time

    def add(
        self, batch: DecodedBatch, partition: Hashable | None = None, message_offsets: np.ndarray | None = None
    ) -> AddResult:
        """Route ``batch``'s rows to their windows.

        ``message_offsets[i]`` is the Kafka offset of message ``i`` of the batch (``None`` for HTTP input).
        """
        n = batch.n_rows
        if n == 0:
            return AddResult(0, 0)
        ts = batch.timestamps
        wid = np.floor(ts / self.size).astype(np.int64)
        late_mask = (wid + 1) * self.size <= self.closed_until
        late = int(np.count_nonzero(late_mask))
        newest = float(np.max(ts))
        self.stream_time = max(self.stream_time, newest)
        if partition is not None:
            self.partition_time[partition] = max(self.partition_time.get(partition, -math.inf), newest)
            self._partition_seen[partition] = time.monotonic()
        ids = np.unique(wid[~late_mask]) if late else np.unique(wid)
        for w in ids.tolist():
            rows = np.flatnonzero((wid == w) & ~late_mask) if (late or len(ids) > 1) else None
            window = self.open.get(w)
            if window is None:
                window = self.open[w] = Window(w * self.size, (w + 1) * self.size, self._new_profile())
            if rows is None:
                window.profile.update(batch.columns, n)
                msg_idx = batch.message_index
            else:
                window.profile.update({k: v[rows] for k, v in batch.columns.items()}, int(rows.size))
                msg_idx = batch.message_index[rows]
            if partition is not None and message_offsets is not None and msg_idx.size:
                lowest = int(message_offsets[msg_idx].min())
                prev = window.min_offsets.get(partition)
                window.min_offsets[partition] = lowest if prev is None else min(prev, lowest)
        return AddResult(n - late, late)

    def due(self, at_least: float = -math.inf, hold: Container[float] = ()) -> list[Window]:
        """Pop the windows the stream's time has passed (``end + lateness <= watermark()``), oldest first.

        ``at_least`` is a time the caller knows the stream has reached even if these rows do not say so (the
        HTTP-fed windows close on Kafka's watermark or the wall clock); windows whose ``start`` is in ``hold``
        stay open (they wait to be merged with another window of the same span).
        """
        watermark = max(self.watermark(), at_least)
        ready = sorted(w for w, win in self.open.items()
                       if win.end + self.lateness <= watermark and win.start not in hold)
        out = [self.open.pop(w) for w in ready]
        if out:
            self.closed_until = max(self.closed_until, out[-1].end)
        return out

    def close_all(self) -> list[Window]:
        """Pop every open window (shutdown or idle stream), oldest first. ``closed_until`` is not moved:
        rows arriving later for these time ranges start new windows instead of being dropped as late."""
        out = [self.open.pop(w) for w in sorted(self.open)]
        return out

    def advance_idle(self) -> list[Window]:
        """Close everything because the stream went quiet; such windows count as complete."""
        out = self.close_all()
        if out:
            self.closed_until = max(self.closed_until, out[-1].end)
            self.stream_time = max(self.stream_time, out[-1].end + self.lateness)
        return out

    def committable(self, partition: Hashable, next_offset: int) -> int:
        """The offset safe to commit for ``partition``: the lowest offset any open window holds, or
        ``next_offset`` (one past the last consumed) when no open window holds rows of it."""
        held = [w.min_offsets[partition] for w in self.open.values() if partition in w.min_offsets]
        return min([*held, next_offset])

    def reset(self) -> None:
        """Forget every open window (their records will be replayed from the committed offsets), and the
        partitions' times, which the replay brings back."""
        self.open.clear()
        self.partition_time.clear()
        self._partition_seen.clear()
        self._assigned_at = time.monotonic()
