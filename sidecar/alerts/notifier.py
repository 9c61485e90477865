"""The sidecar's alert events: a report listener that tracks transitions and hands them to the sinks."""

from __future__ import annotations

import logging
from typing import Any

from sidecar.alerts.alertmanager import AlertmanagerSink
from sidecar.alerts.events import AlertEvent, AlertTracker
from sidecar.alerts.kafkasink import KafkaAlertSink
from sidecar.config import Settings
from sidecar.kafka.clients import client_options
from sidecar.metrics import ModelMetrics
from sidecar.report.model import ValidationReport

__all__ = ["AlertNotifier"]

log = logging.getLogger(__name__)


class AlertNotifier:
    """Turns window reports into alert events for the configured sinks (``settings.alerts``).

    An async service: ``start()``/``stop()`` or ``async with``. :meth:`on_report` is registered as a report
    listener of the sidecar service; it only records and queues, so it costs the consumer loop nothing.
    """

    def __init__(self, settings: Settings, metrics: ModelMetrics) -> None:
        a = settings.alerts
        self.model = settings.model
        self.metrics = metrics
        self.tracker = AlertTracker(settings.model)
        self.kafka: KafkaAlertSink | None = None
        self.alertmanager: AlertmanagerSink | None = None
        if a.topic:
            self.kafka = KafkaAlertSink(a.topic, client_options(settings.kafka), count=self._counter("kafka"),
                                        max_pending=a.max_pending)
        if a.alertmanager_url:
            self.alertmanager = AlertmanagerSink(a.alertmanager_url, resend_seconds=a.resend_seconds,
                                                 count=self._counter("alertmanager"),
                                                 timeout_seconds=a.timeout_seconds,
                                                 give_up_seconds=a.give_up_seconds,
                                                 generator_url=a.generator_url)

    def _counter(self, target: str) -> Any:
        def count(result: str, n: int) -> None:
            self.metrics.alert_events.labels(self.model, target, result).inc(n)
        for result in ("sent", "failed", "dropped"):  # series exist from start-up, at 0
            self.metrics.alert_events.labels(self.model, target, result)
        return count

    def on_report(self, _stream: Any, report: ValidationReport) -> list[AlertEvent]:
        """Record ``report``'s transitions and queue their events; returns them."""
        events = self.tracker.observe(report)
        for event in events:
            log.info("alert %s: %s %s -> %s (value %s)", event.data.state, event.subject,
                     event.data.previous_status.value, event.data.status.value, event.data.value)
            if self.kafka is not None:
                self.kafka.submit(event)
            if self.alertmanager is not None:
                self.alertmanager.submit(event)
        return events

    async def start(self) -> None:
        """Start the sinks' sender tasks."""
        for sink in (self.kafka, self.alertmanager):
            if sink is not None:
                await sink.start()

    async def stop(self) -> None:
        """Deliver what is pending (briefly) and stop. Idempotent."""
        for sink in (self.kafka, self.alertmanager):
            if sink is not None:
                await sink.stop()

    async def __aenter__(self) -> AlertNotifier:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
