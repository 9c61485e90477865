"""The stateful half of the sidecar: decode, window, evaluate, and say what may be committed.

:class:`StreamEngine` owns every :class:`~sidecar.stream.topic.TopicStream` of a model and answers each
request with an :class:`Outcome`: what the batch did, which windows closed (with their reports), the
offsets safe to commit and the open windows. It does no I/O, so the same object runs in the sidecar's
process or in its ingest worker process (:mod:`sidecar.stream.worker`), which lets Kafka fetching and
CPU-bound ingest use two cores.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from sidecar.config import Settings
from sidecar.contract import DataContract
from sidecar.decoders import MessageError, RawMessage
from sidecar.stream.topic import ClosedWindow, Ingested, TopicStream

__all__ = ["ClosedWindow", "OpenWindow", "Outcome", "Request", "StreamEngine"]

log = logging.getLogger(__name__)

Op = Literal["ingest", "tick", "close_all", "reset", "closed_until", "assign"]


@dataclass(frozen=True)
class Request:
    """One instruction for the engine; requests are handled strictly in the order they were sent.

    ``ingest``: fold ``messages`` of ``topic`` (Kafka partition ``partition`` with ``offsets``, or HTTP
    input when both are ``None``), then close what is due. ``tick``: close what is due (idle streams).
    ``close_all``: close every open window as partial (shutdown). ``reset``: forget open windows and
    offsets (they are replayed from the committed offsets). ``closed_until``: raise each topic's
    closed-window boundary to ``closed_until[topic]`` (read from commit metadata). ``assign``: the
    partitions the consumer holds, whose slowest one decides when a window closes. Rows posted over
    HTTP are kept in windows of their own, which ``reset`` leaves alone (they cannot be replayed).
    """

    op: Op
    topic: str | None = None
    partition: Hashable | None = None
    messages: Sequence[RawMessage] = ()
    offsets: np.ndarray | None = None
    closed_until: dict[str, float] = field(default_factory=dict)
    #: ``assign``: the partitions (``TopicPartition``) the consumer now holds, of every topic.
    partitions: tuple[Hashable, ...] = ()


@dataclass(frozen=True)
class OpenWindow:
    """What ``/api/v1/status`` shows of a window still collecting rows."""

    start: float
    end: float
    rows: int


@dataclass(frozen=True)
class Outcome:
    """The engine's answer to one :class:`Request`.

    Per stream, and only for the streams the request concerned (the ingested topic and any stream whose
    windows it closed; every topic for the other requests): ``commits`` maps each of their partitions
    ingested since the last reset to the offset safe to commit now (the lowest offset an open window
    holds, else one past the last record); ``closed_until`` and ``open_windows`` are per topic, as of the
    end of this request. Streams missing from an answer are unchanged.
    """

    ingested: Ingested | None
    closed: list[ClosedWindow]
    commits: dict[Hashable, int]
    closed_until: dict[str, float]
    open_windows: dict[str, list[OpenWindow]]


class StreamEngine:
    """Every stream of one model; handles :class:`Request` objects synchronously."""

    def __init__(self, settings: Settings, contracts: dict[str, DataContract]) -> None:
        self.streams: dict[str, TopicStream] = {
            topic.topic: TopicStream(role, topic, settings.window, contracts[role]) for role, topic in settings.topics
        }
        self._next_offset: dict[Hashable, tuple[TopicStream, int]] = {}  # partition -> (stream, next offset)

    def handle(self, request: Request) -> Outcome:
        """Carry out ``request`` and report the state after it."""
        ingested: Ingested | None = None
        closed: list[ClosedWindow] = []
        if request.op == "ingest":
            if request.topic not in self.streams:
                raise KeyError(f"no stream consumes topic {request.topic!r}; known: {sorted(self.streams)}")
            ingested = self._ingest(request)
            closed = self._close_due()
        elif request.op == "tick":
            closed = self._close_due()
        elif request.op == "close_all":
            closed = self._close_due(final=True)
        elif request.op == "reset":
            for stream in self.streams.values():
                stream.windows.reset()  # Kafka's windows only: HTTP rows cannot be replayed
            self._next_offset.clear()
        elif request.op == "assign":
            for topic, stream in self.streams.items():
                stream.windows.assign(p for p in request.partitions if getattr(p, "topic", None) == topic)
        elif request.op == "closed_until":
            for topic, until in request.closed_until.items():
                windows = self.streams[topic].windows
                windows.closed_until = max(windows.closed_until, until)
        else:
            raise ValueError(f"unknown engine request {request.op!r}")
        # An ingest also closes what is due in other streams: those are answered about too.
        touched = ([t for t in self.streams if t == request.topic or any(c.topic == t for c in closed)]
                   if request.op == "ingest" else list(self.streams))
        return self._outcome(ingested, closed, touched)

    def _ingest(self, request: Request) -> Ingested:
        stream = self.streams[str(request.topic)]
        messages, offsets = request.messages, request.offsets
        try:
            result = stream.ingest(messages, partition=request.partition, offsets=offsets)
        except Exception as exc:
            # Decoders reject bad input without raising; reaching here is a bug. The loop must survive it
            # all the same: the batch is dead-lettered (nothing of it was added to a window) and skipped.
            where = f"{request.topic}[{request.partition}]"
            if offsets is not None and len(offsets):
                where += f" records {int(offsets[0])}..{int(offsets[-1])}"
            log.exception("internal error on %s; dead-lettering the batch", where)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            result = Ingested(0, 0, 0, [MessageError(i, reason, "InternalError") for i in range(len(messages))])
        if request.partition is not None and offsets is not None and len(offsets):
            self._next_offset[request.partition] = (stream, int(offsets[-1]) + 1)
        return result

    def _close_due(self, *, final: bool = False) -> list[ClosedWindow]:
        closed = []
        for topic, stream in self.streams.items():
            ready = stream.close_all() if final else stream.due()
            for window in ready:
                try:
                    closed.append(stream.evaluate(window, partial=final))
                except Exception:
                    # A check that raises (a bug, or a custom check's) must not stop the stream: the window
                    # is logged as lost and the next one is judged as usual.
                    log.exception("could not evaluate window %s..%s of %s (%d rows); skipped", window.start,
                                  window.end, topic, window.rows)
        return closed

    def _outcome(self, ingested: Ingested | None, closed: list[ClosedWindow], topics: list[str]) -> Outcome:
        streams = {t: self.streams[t] for t in topics}
        return Outcome(
            ingested=ingested,
            closed=closed,
            commits={p: stream.windows.committable(p, nxt) for p, (stream, nxt) in self._next_offset.items()
                     if stream.topic in streams},
            closed_until={t: s.windows.closed_until for t, s in streams.items()},
            open_windows={t: [OpenWindow(w.start, w.end, w.rows) for w in s.open_windows()]
                          for t, s in streams.items()},
        )

