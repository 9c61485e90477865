"""Alert events: a check that turns warning or critical, and its recovery, told to people and machines.

:mod:`~sidecar.alerts.events` turns each window's report into transitions (:class:`AlertTracker`) and
CloudEvents (:class:`AlertEvent`); :mod:`~sidecar.alerts.kafkasink` publishes them on a Kafka topic and
:mod:`~sidecar.alerts.alertmanager` pushes them to Alertmanager's v2 API. :class:`AlertNotifier` owns both
and is what the sidecar runs. Neither sink ever blocks the consumer loop: each keeps a bounded backlog and
sends it from its own task, retrying with backoff and counting what it could not deliver.

Prometheus rules (``deploy/prometheus/``) routed through Alertmanager are the primary path; these events are
for consumers of the topic and for setups without Prometheus rules. Enabling both pushes each alert twice.
The package reads reports (:mod:`sidecar.report`) and builds its producer from :mod:`sidecar.kafka`; it
knows nothing of the stream that produced a report, so the sidecar, the joiner and the control room share it.
"""

from sidecar.alerts.alertmanager import AlertmanagerSink
from sidecar.alerts.events import AlertEvent, AlertTracker, Transition
from sidecar.alerts.kafkasink import KafkaAlertSink
from sidecar.alerts.notifier import AlertNotifier

__all__ = ["AlertEvent", "AlertNotifier", "AlertTracker", "AlertmanagerSink", "KafkaAlertSink", "Transition"]
