"""The control room's Kafka ingest against the real broker and the real SQL store (SQLite): malformed records
counted and skipped, duplicates stored once, metric events upserted, and a store that cannot write commits
nothing until it can."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from sidecar.config.serve import ServeSettings
from sidecar.report.event import ReportEvent
from sidecar.report.model import CheckResult, ValidationReport
from sidecar.serve.ingest import IngestService
from sidecar.serve.metrics import ServeMetrics
from sidecar.store.base import MetricEvent, MetricPoint, ReportQuery
from sidecar.store.sql import SqlStore

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]

T0 = 1_800_000_000


def report_event(i: int, model: str = "churn", pod: str = "churn-0") -> ReportEvent:
    start = datetime.fromtimestamp(T0 + 60 * i, tz=UTC)
    report = ValidationReport(contract="churn_inputs", contract_version=1, window_start=start,
                              window_end=datetime.fromtimestamp(T0 + 60 * i + 60, tz=UTC),
                              results=[CheckResult(check="schema", column="age", status="healthy")])
    return ReportEvent(model=model, source="window", pod=pod, report=report)


async def produce(bootstrap: str, topic: str, values: Sequence[bytes | None]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for v in values:
            await producer.send(topic, v, key=b"churn")
        await producer.flush()
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str, topic: str) -> int | None:
    """The group's committed offset of partition 0 (None: nothing committed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    meta = offsets.get(TopicPartition(topic, 0))
    return None if meta is None or meta.offset < 0 else meta.offset


async def stored_ids(store: SqlStore, model: str = "churn") -> list[str]:
    """Every stored report id of ``model``, walking the listing page by page."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await store.list_reports(ReportQuery(model=model), limit=500, cursor=cursor)
        ids += [h.id for h in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


async def until(condition: Any, what: str, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    async with SqlStore(f"sqlite:///{tmp_path}/control.sqlite") as s:
        yield s


def serve_settings(bootstrap: str, reports: str, metrics: str, group: str) -> ServeSettings:
    return ServeSettings(store={"url": "sqlite:////unused/by/the/ingest.sqlite"},
                         kafka={"bootstrap_servers": bootstrap, "group_id": group, "reports_topic": reports,
                                "metrics_topic": metrics, "fetch_max_wait_ms": 50,
                                "retry_backoff_seconds": 0.1, "retry_backoff_max_seconds": 0.5})  # the store: passed in


async def test_malformed_records_are_counted_logged_once_and_skipped(kafka_bootstrap: str, kafka_topic,
                                                                     store: SqlStore,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    reports, metrics = await kafka_topic(), await kafka_topic()
    good = [report_event(i) for i in range(4)]
    long_name = report_event(9).report.model_copy(update={"contract": "c" * 201})
    unstorable = ReportEvent(model="churn", report=long_name).model_dump_json().encode()  # valid, too long a name
    await produce(kafka_bootstrap, reports, [
        good[0].model_dump_json().encode(), b"not json", b'{"model": "churn"}', None, b"{also not json",
        good[1].model_dump_json().encode(), b'{"model": "churn", "report": {"contract": 5}}',
        good[2].model_dump_json().encode(), good[3].model_dump_json().encode(), unstorable])
    group = f"serve-{reports}"
    serve_metrics = ServeMetrics()
    caplog.set_level(logging.WARNING, logger="sidecar.serve.ingest")
    async with IngestService(serve_settings(kafka_bootstrap, reports, metrics, group), store,
                             metrics=serve_metrics) as ingest:
        await until(lambda: _settled(kafka_bootstrap, group, reports, 10), "the commit past every record")
    assert sorted(await stored_ids(store)) == sorted(e.report_id() for e in good)
    assert (ingest.counts[(reports, "stored")], ingest.counts[(reports, "malformed")]) == (4, 6)
    get = serve_metrics.registry.get_sample_value
    assert get("model_health_serve_ingest_records_total", {"topic": reports, "result": "malformed"}) == 6
    assert get("model_health_serve_reports_total", {"via": "kafka", "result": "stored"}) == 4
    lines = [r.getMessage() for r in caplog.records if "malformed record" in r.getMessage()]
    # One line per reason (two records are "not JSON"), each with its coordinates.
    assert len(lines) == 5, lines
    assert any(f"{reports}[0]@1: not JSON" in line for line in lines)
    assert any(f"{reports}[0]@2: report: missing" in line for line in lines)
    assert any(f"{reports}[0]@3: empty record" in line for line in lines)
    assert any(f"{reports}[0]@6: report.contract: string_type" in line for line in lines)
    assert any(f"{reports}[0]@9: cannot be stored: report.contract must be at most 200 characters" in line
               for line in lines)


async def _settled(bootstrap: str, group: str, topic: str, end: int) -> bool:
    return await committed(bootstrap, group, topic) == end


async def test_a_duplicate_delivery_is_stored_once(kafka_bootstrap: str, kafka_topic, store: SqlStore) -> None:
    reports, metrics = await kafka_topic(), await kafka_topic()
    event = report_event(0)
    body = event.model_dump_json().encode()
    with_id = event.model_copy(update={"id": event.report_id()}).model_dump_json().encode()
    await produce(kafka_bootstrap, reports, [body, body, with_id])
    group = f"serve-{reports}"
    settings = serve_settings(kafka_bootstrap, reports, metrics, group)
    async with IngestService(settings, store) as ingest:
        await until(lambda: _settled(kafka_bootstrap, group, reports, 3), "the first three")
    await produce(kafka_bootstrap, reports, [body])  # delivered again later, to a new consumer
    async with IngestService(settings, store) as again:
        await until(lambda: _settled(kafka_bootstrap, group, reports, 4), "the fourth")
    assert await stored_ids(store) == [event.report_id()]
    assert (ingest.counts[(reports, "stored")], ingest.counts[(reports, "duplicate")]) == (1, 2)
    assert (again.counts[(reports, "stored")], again.counts[(reports, "duplicate")]) == (0, 1)


async def test_metric_events_are_upserted_by_time(kafka_bootstrap: str, kafka_topic, store: SqlStore) -> None:
    reports, metrics = await kafka_topic(), await kafka_topic()

    def event(*points: tuple[int, float]) -> bytes:
        return MetricEvent(model="churn", metric="accuracy", kind="realized",
                           points=[MetricPoint(time=datetime.fromtimestamp(T0 + t, tz=UTC), value=v)
                                   for t, v in points]).model_dump_json().encode()

    await produce(kafka_bootstrap, metrics, [event((0, 0.9), (60, 0.8)), event((60, 0.85)), b"[]"])
    group = f"serve-{metrics}"
    async with IngestService(serve_settings(kafka_bootstrap, reports, metrics, group), store) as ingest:
        await until(lambda: _settled(kafka_bootstrap, group, metrics, 3), "the commit past the metric events")
    (series,) = await store.metric_points("churn", "accuracy", "realized")
    assert [(p["time"].timestamp(), p["value"]) for p in series["points"]] == [(T0, 0.9), (T0 + 60, 0.85)]
    assert (ingest.counts[(metrics, "stored")], ingest.counts[(metrics, "malformed")]) == (2, 1)


class FailingStore:
    """The real store, whose writes fail while ``failing`` is set (a database that cannot write)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.failing = True
        self.failures = 0

    async def put_reports(self, events: Sequence[ReportEvent]) -> list[tuple[str, bool]]:
        if self.failing:
            self.failures += 1
            raise OSError("disk I/O error")
        return await self.store.put_reports(events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def test_a_store_that_cannot_write_commits_nothing_until_it_can(kafka_bootstrap: str, kafka_topic,
                                                                      store: SqlStore) -> None:
    reports, metrics = await kafka_topic(), await kafka_topic()
    events = [report_event(i) for i in range(5)]
    await produce(kafka_bootstrap, reports, [e.model_dump_json().encode() for e in events])
    group = f"serve-{reports}"
    failing = FailingStore(store)
    async with IngestService(serve_settings(kafka_bootstrap, reports, metrics, group), failing) as ingest:  # type: ignore[arg-type]

        async def failed_twice() -> bool:
            return failing.failures >= 2

        await until(failed_twice, "two failed store attempts")
        assert ingest.store_failing_since is not None and ingest.running
        assert await committed(kafka_bootstrap, group, reports) is None  # nothing committed meanwhile
        failing.failing = False
        await until(lambda: _settled(kafka_bootstrap, group, reports, 5), "the commit once the store writes")
        assert ingest.store_failing_since is None
    assert sorted(await stored_ids(store)) == sorted(e.report_id() for e in events)
    assert ingest.counts[("", "store_failures")] == failing.failures


async def test_a_real_joiners_metric_events_reach_the_store(tmp_path: Path, kafka_bootstrap: str, kafka_topic,
                                                            store: SqlStore) -> None:
    import time

    from test_join import JoinProcess, config, send

    predictions, outcomes = await kafka_topic(), await kafka_topic()
    reports, metrics = await kafka_topic(), await kafka_topic()
    settings = config(tmp_path, kafka_bootstrap, predictions, outcomes, ttl_seconds=30)
    joiner = JoinProcess(tmp_path, {**settings, "publish": {"metrics_topic": metrics}})
    group = f"serve-{metrics}"
    try:
        await asyncio.to_thread(joiner.start)
        async with IngestService(serve_settings(kafka_bootstrap, reports, metrics, group), store):
            now = time.time()
            await send(kafka_bootstrap, predictions, "r1", timestamp=now, score=0.8)
            await send(kafka_bootstrap, outcomes, "r1", timestamp=now + 1, label=1)

            async def accuracy_stored() -> bool:
                return bool(await store.metric_points("churn", "accuracy", "realized"))

            await until(accuracy_stored, "the joiner's accuracy in the control room's store")
        (series,) = await store.metric_points("churn", "accuracy", "realized")
        assert [p["value"] for p in series["points"]] == [1.0]
        assert joiner.metric("model_health_published_events_total", event="metric", target="kafka",
                             result="sent")
    finally:
        joiner.stop()
