"""Report events of closed windows over Kafka: sent by the loop's producer, and settled before the commit that
passes their window (DESIGN.md section 4: offsets are committed only after the window is published)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.errors import TopicAuthorizationFailedError, UnknownTopicOrPartitionError
from aiokafka.structs import ConsumerRecord

from sidecar import DataContract
from sidecar.config import Settings
from sidecar.demo.data import churn_frame
from sidecar.metrics import ModelMetrics, SidecarMetrics
from sidecar.report.event import ReportEvent
from sidecar.report.model import ValidationReport
from sidecar.stream.answers import ingest_requests
from sidecar.stream.control import ReportOutbox, ReportPublisher, event_counter, pod_name, report_letter
from sidecar.stream.service import SidecarService

pytestmark = pytest.mark.timeout(60)

T0 = 1_800_000_000


class FakeProducer:
    """Acknowledges, except for the errors queued in ``failures`` (one per send, in order)."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []

    async def send(self, topic, value=None, key=None, headers=None):
        fut = asyncio.get_running_loop().create_future()
        if self.failures:
            fut.set_exception(self.failures.pop(0))
        else:
            self.sent.append((topic, value, key))
            fut.set_result(None)
        return fut


class FakeConsumer:
    def __init__(self) -> None:
        self.commits: list[dict] = []

    def assignment(self):
        return {TopicPartition("t", 0)}

    async def commit(self, offsets) -> None:
        self.commits.append(offsets)


def _report(minute: int = 0) -> ValidationReport:
    start = datetime.fromtimestamp(T0 + 60 * minute, tz=UTC)
    return ValidationReport(contract="c", contract_version=1, window_start=start,
                            window_end=datetime.fromtimestamp(T0 + 60 * minute + 60, tz=UTC))


def _counts(metrics: ModelMetrics, target: str = "kafka") -> dict[str, float]:
    get = metrics.registry.get_sample_value
    return {r: get("model_health_published_events_total", {"model": metrics.model, "event": "report",
                                                           "target": target, "result": r})
            for r in ("sent", "failed", "dropped")}


def test_a_report_letter_is_a_report_event_with_its_id_fixed() -> None:
    report = _report()
    letter = report_letter("churn", "churn-7d9f-x2", report, "model-health.reports")
    event = ReportEvent.model_validate_json(letter.body)
    assert (letter.topic, letter.key, letter.event, letter.path) == ("model-health.reports", b"churn", "report",
                                                                     "/api/v1/reports")
    assert (event.model, event.source, event.pod) == ("churn", "window", "churn-7d9f-x2")
    assert event.id == ReportEvent(model="churn", source="window", pod="churn-7d9f-x2", report=report).report_id()
    assert event.report == report


def test_the_pod_is_the_setting_else_the_host_name() -> None:
    import socket

    given = Settings(model="m", inputs={"topic": "t", "contract": "c"}, publish={"pod": "p-1"})
    assert pod_name(given.publish) == "p-1"
    assert pod_name(Settings(model="m", inputs={"topic": "t", "contract": "c"}).publish) == socket.gethostname()


def test_publish_settings_default_to_kafka_and_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings(model="m", inputs={"topic": "t", "contract": "c"})
    assert (s.publish.over_kafka, s.publish.over_http, s.publish.reports_topic, s.publish.metrics_topic) == (
        True, False, "model-health.reports", "model-health.metrics")
    monkeypatch.setenv("SIDECAR_PUBLISH__CONTROL_URL", "http://control:8080/")
    monkeypatch.setenv("SIDECAR_PUBLISH__TOKEN", "s3cret")
    s = Settings(model="m", inputs={"topic": "t", "contract": "c"})
    assert (s.publish.over_http, s.publish.control_url, s.publish.bearer()) == (True, "http://control:8080", "s3cret")
    assert "s3cret" not in repr(s.publish)
    from sidecar.config import StoreLocation

    assert StoreLocation.load_publish().control_url == "http://control:8080"
    monkeypatch.setenv("SIDECAR_PUBLISH__CONTROL_URL", "control:8080")
    from sidecar.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"publish\.control_url: .*not an http:// or https:// URL"):
        StoreLocation.load_publish()


async def test_settle_counts_sent_resends_retriable_and_drops_permanent() -> None:
    metrics = ModelMetrics("m")
    outbox = ReportOutbox(event_counter(metrics, "kafka"))
    producer = FakeProducer(RuntimeError("leader moved"), TopicAuthorizationFailedError())
    for minute in range(3):
        outbox.send(producer, report_letter("m", "p", _report(minute), "r"))
    failed = await outbox.settle(producer)
    assert [type(e) for _, e in failed] == [RuntimeError]  # retriable: returned (commit waits) and sent again
    assert outbox.pending == 1
    assert await outbox.settle(producer) == []
    assert _counts(metrics) == {"sent": 2, "failed": 1, "dropped": 1}
    assert len(producer.sent) == 2


async def test_without_a_producer_events_wait_bounded_and_go_at_the_next_settle() -> None:
    metrics = ModelMetrics("m")
    outbox = ReportOutbox(event_counter(metrics, "kafka"), max_unsent=2)
    for minute in range(3):
        outbox.send(None, report_letter("m", "p", _report(minute), "r"))
    assert outbox.pending == 2 and _counts(metrics)["dropped"] == 1  # the oldest went
    producer = FakeProducer()
    assert await outbox.settle(producer) == []
    starts = [ReportEvent.model_validate_json(v).report.window_start for _, v, _ in producer.sent]
    assert starts == [_report(1).window_start, _report(2).window_start]


async def test_a_missing_topic_is_not_waited_for_again_until_it_exists(caplog: pytest.LogCaptureFixture) -> None:
    metrics = ModelMetrics("m")
    outbox = ReportOutbox(event_counter(metrics, "kafka"))
    producer = FakeProducer(UnknownTopicOrPartitionError())
    outbox.send(producer, report_letter("m", "p", _report(0), "r"))
    assert await outbox.settle(producer) == []
    outbox.send(producer, report_letter("m", "p", _report(1), "r"))  # dropped at once: no metadata wait
    assert outbox.pending == 0 and producer.sent == []
    assert _counts(metrics)["dropped"] == 2
    assert sum("cannot be delivered to topic r" in r.getMessage() for r in caplog.records) == 1
    outbox.topic_ready("r", "created")
    outbox.send(producer, report_letter("m", "p", _report(2), "r"))
    assert await outbox.settle(producer) == [] and len(producer.sent) == 1


def test_publishing_off_or_over_http_keeps_the_commit_path_free() -> None:
    off = ReportPublisher(Settings(model="m", inputs={"topic": "t", "contract": "c"}, publish={"enabled": False}),
                          ModelMetrics("m"))
    http = ReportPublisher(Settings(model="m", inputs={"topic": "t", "contract": "c"},
                                    publish={"control_url": "http://127.0.0.1:9"}), ModelMetrics("m"))
    assert (off.outbox, off.sink, http.outbox) == (None, None, None) and http.sink is not None
    off.publish(_report(), FakeProducer())
    assert off.pending == 0


# -- the service: a closed window's report event is part of what its commit waits for -------------------------
def _record(offset: int, ts: float) -> ConsumerRecord:
    value = orjson.dumps({"request_id": f"r{offset}", "timestamp": ts, "values": {"age": 30}})
    return ConsumerRecord(topic="t", partition=0, offset=offset, timestamp=int(ts * 1000), timestamp_type=0,
                          key=None, value=value, checksum=None, serialized_key_size=0,
                          serialized_value_size=len(value), headers=())


@pytest.fixture
def service(tmp_path: Path) -> SidecarService:
    contract = DataContract("c", churn_frame(500, seed=1))
    settings = Settings(model="churn", inputs={"topic": "t", "contract": "unused"}, window={"min_rows": 1},
                        ingest={"worker_process": False}, store={"path": str(tmp_path / "store")},
                        publish={"pod": "churn-pod-1", "reports_topic": "reports"})
    return SidecarService(settings, SidecarMetrics("churn"), contracts={"inputs": contract})


async def _ingest(service: SidecarService, records: list[ConsumerRecord]) -> None:
    tp = TopicPartition("t", 0)
    service.ledger.saw(tp, records[0].offset)
    for request in ingest_requests(tp, records):
        await service.answers.submit(request)
    await service.answers.drain(keep=0)


async def test_the_commit_past_a_window_waits_for_its_report_event(service: SidecarService) -> None:
    producer, consumer = FakeProducer(RuntimeError("broker said no")), FakeConsumer()
    service._producer, service._consumer = producer, consumer
    size = service.settings.window.size_seconds + service.settings.window.lateness_seconds
    await _ingest(service, [_record(0, T0), _record(1, T0 + 1), _record(2, T0 + 2 * size)])
    assert service.ledger.commits[TopicPartition("t", 0)] == 2  # the first window closed
    await service.committer.commit(consumer, producer)
    assert consumer.commits == [] and producer.sent == []  # its report event failed: nothing committed
    await service.committer.commit(consumer, producer)
    ((topic, value, key),) = producer.sent
    event = ReportEvent.model_validate_json(value)
    assert (topic, key, event.model, event.source, event.pod) == ("reports", b"churn", "churn", "window", "churn-pod-1")
    assert event.report == service.last_reports["t"] and event.report.row_count["actual"] == 2
    assert consumer.commits[0][TopicPartition("t", 0)].offset == 2
    get = service.metrics.registry.get_sample_value
    assert get("model_health_kafka_errors_total", {"model": "churn", "operation": "report_event"}) == 1
