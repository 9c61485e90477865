"""What the sidecar makes of the engine's answers: counters, dead-letter copies, published windows.

Every closed window's report goes to the metrics, the report store, the control room (a report event,
:mod:`sidecar.stream.control`) and the registered listeners (alerts, the dashboard), and is logged in one
line; every rejected record is counted and copied to its dead-letter topic. A commit waits for both kinds
of sends (the :class:`Outbox`): the dead-letter copies of the records it passes and the report events of
the windows it passes. A report the store cannot write (a full or read-only disk) costs that report line,
not the window: its metrics are published, it is counted in ``model_health_store_errors_total``, and
replaying it from Kafka would not make the disk writable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from sidecar.config import Settings
from sidecar.decoders import MessageError, RawMessage
from sidecar.logs import RateLimitedLog
from sidecar.metrics import SidecarMetrics
from sidecar.report.model import ValidationReport
from sidecar.store.base import ReportStore
from sidecar.stream.control import ReportPublisher
from sidecar.stream.deadletter import QUARANTINE_DIR, DeadLetter, DeadLetterSender, Quarantine, dead_letter_headers
from sidecar.stream.engine import ClosedWindow
from sidecar.stream.ledger import Settles
from sidecar.stream.streams import StreamInfo
from sidecar.stream.topic import Ingested

__all__ = ["DEAD_LETTER_LOG_INTERVAL_SECONDS", "Outbox", "Publisher", "ReportListener"]

log = logging.getLogger("sidecar.stream.service")  # the service's voice: one place to filter its lines

#: Dead-lettered records are logged (INFO) at most this often; every one is counted in the metrics.
DEAD_LETTER_LOG_INTERVAL_SECONDS = 5.0
#: Store write failures are logged at most this often.
STORE_LOG_INTERVAL_SECONDS = 30.0


ReportListener = Callable[[StreamInfo, ValidationReport], Any]


class Outbox:
    """Everything a commit waits for, settled in turn: dead-letter copies, report events (see
    :class:`~sidecar.stream.ledger.Settles`)."""

    def __init__(self, *parts: Settles) -> None:
        self.parts = parts

    @property
    def pending(self) -> int:
        """Sends not settled yet, of every part."""
        return sum(part.pending for part in self.parts)

    async def settle(self, producer: AIOKafkaProducer | None) -> Sequence[tuple[object, BaseException]]:
        """Settle every part; the retriable failures of all of them."""
        failed: list[tuple[object, BaseException]] = []
        for part in self.parts:
            failed.extend(await part.settle(producer))
        return failed


class Publisher:
    """Counts, dead-letters and publishes for one sidecar.

    ``start()``/``stop()`` run the control room's HTTP sender, if ``publish.control_url`` is set; ``outbox``
    is what the :class:`~sidecar.stream.ledger.Committer` waits for.
    """

    def __init__(self, settings: Settings, metrics: SidecarMetrics, reports: ReportStore | None) -> None:
        self.model = settings.model
        self.metrics = metrics
        self.reports = reports
        self.listeners: list[ReportListener] = []
        self.last_reports: dict[str, ValidationReport] = {}
        self.dead_letters = DeadLetterSender(Quarantine(Path(settings.store.path) / QUARANTINE_DIR),
                                             on_permanent=self._count_dead_letter_failure)
        self.control = ReportPublisher(settings, metrics.model_level)
        self.outbox = Outbox(self.dead_letters, self.control)
        self._dead_letter_log = RateLimitedLog(log, DEAD_LETTER_LOG_INTERVAL_SECONDS)
        self._store_log = RateLimitedLog(log, STORE_LOG_INTERVAL_SECONDS)

    def count(self, topic: str, result: Ingested) -> None:
        """Records accepted, dead-lettered and late in one answer."""
        m = self.metrics.records
        if result.accepted_messages:
            m.labels(self.model, topic, "ok").inc(result.accepted_messages)
        if result.errors:
            m.labels(self.model, topic, "dead_lettered").inc(len(result.errors))
        if result.late_rows:
            m.labels(self.model, topic, "late").inc(result.late_rows)

    def dead_letter(self, producer: AIOKafkaProducer | None, stream: StreamInfo, msg: RawMessage,
                    partition: int | None, offset: int | None, err: MessageError) -> None:
        """Copy a rejected record, unchanged, to its dead-letter topic (settled before the next commit)."""
        self._dead_letter_log.log(logging.INFO, "dead-lettering %s[%s]@%s to %s: %s", stream.topic, partition,
                                  offset, stream.settings.dead_letter_topic, err.reason)
        if producer is None:
            return
        hdrs = dead_letter_headers(msg.headers, stream.topic, partition, offset, err)
        copy = DeadLetter(stream.settings.dead_letter_topic, msg.value, msg.key, hdrs, stream.topic, partition, offset)
        self.dead_letters.send(producer, copy)

    def _count_dead_letter_failure(self, copy: DeadLetter, reason: str) -> None:
        self.metrics.dead_letter_failures.labels(self.model, copy.source_topic, reason).inc()

    async def start(self) -> None:
        """Start the control room's HTTP sender, if any."""
        await self.control.start()

    async def stop(self) -> None:
        """Deliver pending HTTP report events (briefly) and stop. Idempotent."""
        await self.control.stop()

    async def prepare(self, admin: AIOKafkaAdminClient) -> None:
        """At connect: the reports topic exists (created if missing and allowed)."""
        await self.control.prepare(admin)

    def publish(self, stream: StreamInfo, closed: ClosedWindow, producer: AIOKafkaProducer | None = None) -> None:
        """A closed window's report to the metrics, the store, the control room (through ``producer`` when it
        goes over Kafka), the listeners and the log."""
        report = closed.report
        self.metrics.publish(report, closed.duration_seconds)
        if self.reports is not None:
            try:
                self.reports.append(self.model, report)
            except OSError as exc:
                self.metrics.model_level.store_errors.labels(self.model, "report").inc()
                self._store_log.log(logging.ERROR, "could not write the report of %s (%s)", stream.topic, exc)
        self.control.publish(report, producer)
        self.last_reports[stream.topic] = report
        bad = {k: v for k, v in report.summary.items() if v["warning"] or v["critical"]}
        log.info("window %s..%s %s: %d rows, %s%s", report.window_start, report.window_end, stream.contract.name,
                 report.row_count["actual"], report.status.value, f" {bad}" if bad else "")
        for listener in self.listeners:
            try:
                listener(stream, report)
            except Exception:
                log.exception("report listener failed")
