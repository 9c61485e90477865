"""One consumed stream: its contract, its decoder, its windows, and window evaluation.

Kafka records and HTTP CloudEvents both arrive here as :class:`RawMessage` batches, so the two ingestion
paths share every step after the transport.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from sidecar.checks.base import CHECKS
from sidecar.config import TopicSettings, WindowSettings
from sidecar.contract import DataContract
from sidecar.decoders import DecodedBatch, MessageError, RawMessage, make_decoder
from sidecar.report.model import ValidationReport
from sidecar.stream.windows import Window, WindowSet

__all__ = ["ClosedWindow", "Ingested", "TopicStream", "drift_checks"]


def drift_checks() -> list[str]:
    """Checks that need enough rows to mean anything (read from the check registry); below ``min_rows`` a
    window is judged on its schema and row count only."""
    return [name for name, check in CHECKS.items() if check.needs_rows]


@dataclass(frozen=True)
class Ingested:
    """Outcome of one batch: rows accepted and late, and the messages to dead-letter."""

    accepted_rows: int
    late_rows: int
    accepted_messages: int
    errors: list[MessageError]


@dataclass(frozen=True)
class ClosedWindow:
    """A closed window judged against its contract, and how long judging it took."""

    topic: str
    report: ValidationReport
    duration_seconds: float


class TopicStream:
    """Decode, window and evaluate one topic against one contract."""

    def __init__(self, role: str, settings: TopicSettings, window: WindowSettings, contract: DataContract,
                 clock: Callable[[], float] = time.time) -> None:
        self.role = role
        self.settings = settings
        self.window_settings = window
        self.contract = contract
        schema = {spec.name: spec.kind for spec in contract.current_specs()}
        self.decoder = make_decoder(
            settings.format,
            schema,
            request_id_key=settings.request_id_key,
            timestamp_key=settings.timestamp_key,
            oip_columns=settings.oip_columns,
            coded_categories=True,  # windows only count categories: Arrow's dictionary codes suffice
        )
        #: Windows of rows read from Kafka: dropped on a reset and rebuilt by replaying from the commits.
        self.windows = WindowSet(contract.new_profile, window.size_seconds, window.lateness_seconds,
                                 partition_idle=window.partition_idle_seconds)
        #: Windows of rows posted over HTTP: they belong to no partition and cannot be replayed, so a
        #: rebalance or a lost consumer never drops them. They close when the stream's time passes their end
        #: plus lateness, the stream's time being Kafka's watermark or the wall clock, whichever is later (HTTP
        #: may go quiet while Kafka flows), and a window's HTTP part is merged into its Kafka part when both
        #: exist, so a window is one report (see :meth:`due`).
        self.http_windows = WindowSet(contract.new_profile, window.size_seconds, window.lateness_seconds)
        self.last_record_monotonic = time.monotonic()
        self.clock = clock

    @property
    def topic(self) -> str:
        """The Kafka topic name."""
        return self.settings.topic

    def decode(self, messages: Sequence[RawMessage]) -> DecodedBatch:
        """Decode a batch (never raises for bad input; rejects are in ``errors``)."""
        return self.decoder.decode(messages)

    def ingest(
        self, messages: Sequence[RawMessage], partition: Hashable | None = None, offsets: np.ndarray | None = None
    ) -> Ingested:
        """Decode ``messages`` and fold their rows into the open windows."""
        batch = self.decode(messages)
        target = self.http_windows if partition is None else self.windows
        added = target.add(batch, partition, offsets)
        if batch.n_rows:
            self.last_record_monotonic = time.monotonic()
        return Ingested(added.accepted, added.late, len(messages) - len(batch.errors), batch.errors)

    def due(self) -> list[Window]:
        """Windows ready to evaluate (complete): those the stream's time passed, and all of them after an
        idle spell; a window fed both from Kafka and over HTTP comes out once, its two parts merged.

        Kafka's windows close on Kafka's watermark. HTTP-fed windows close on the later of that watermark and
        the wall clock, except one whose Kafka part is still open: it waits for that part and is merged into
        it, so a window's report counts every row of its span whichever way the rows came.
        """
        kafka = self.windows.due()
        stream_time = max(self.windows.watermark(), self.clock())
        http = self.http_windows.due(stream_time, hold={w.start for w in self.windows.open.values()})
        idle = self.window_settings.idle_close_seconds
        if idle is not None and time.monotonic() - self.last_record_monotonic >= idle:
            kafka += self.windows.advance_idle()
            http += self.http_windows.advance_idle()
        return _merge_parts(kafka, http)

    def close_all(self) -> list[Window]:
        """Every open window, Kafka's and HTTP's (shutdown), oldest first, a window's two parts merged."""
        return _merge_parts(self.windows.close_all(), self.http_windows.close_all())

    def open_windows(self) -> list[Window]:
        """The windows still collecting rows, oldest first."""
        return sorted([*self.windows.open.values(), *self.http_windows.open.values()], key=lambda w: w.start)

    def evaluate(self, window: Window, partial: bool = False) -> ClosedWindow:
        """Run the contract's checks on a closed window."""
        started = time.perf_counter()
        # row_count always runs: it is information unless an expected count per window is configured, and
        # then a window too small for drift checks is exactly what it should judge.
        skip: list[str] = []
        if window.rows < self.window_settings.min_rows:
            skip += drift_checks()
        report = self.contract.check(
            window.profile,
            skip=skip,
            window_start=_dt(window.start),
            window_end=_dt(window.end),
            partial=partial,
        )
        return ClosedWindow(self.topic, report, time.perf_counter() - started)


def _merge_parts(kafka: list[Window], http: list[Window]) -> list[Window]:
    """Kafka-fed and HTTP-fed windows, oldest first, with the HTTP part of a span merged into its Kafka part
    (the Kafka part keeps its offsets, which decide what may be committed)."""
    by_start = {w.start: w for w in kafka}
    alone = []
    for part in http:
        window = by_start.get(part.start)
        if window is None:
            alone.append(part)
        else:
            window.profile = window.profile.merge(part.profile)
    return sorted([*kafka, *alone], key=lambda w: w.start)


def _dt(ts: float) -> datetime | None:
    return None if not math.isfinite(ts) else datetime.fromtimestamp(ts, tz=UTC)
