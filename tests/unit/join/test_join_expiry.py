"""The incremental sweep: the expiry index, a sweep that reads only what fell due, slices, and the batched
changelog's order."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from sidecar.join.changelog import ChangelogOutbox
from sidecar.join.expiry import ExpiryIndex
from sidecar.join.joiner import Joiner
from sidecar.join.tables import DictPairStore, State, decode_entry
from sidecar.join.windows import WindowBook

T0 = 1_800_000_000.0


class CountingStore(DictPairStore):
    """Counts the reads, to show a sweep touches only what fell due."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, key: bytes, partition: int | None = None) -> bytes | None:
        self.reads += 1
        return super().get(key, partition)


def joiner(ttl: float = 100.0, window: float = 60.0) -> Joiner:
    book = WindowBook(window, lambda y, s: {"n": float(len(y))})
    return Joiner(CountingStore(), book, ttl)


def test_index_hands_out_passed_deadlines_oldest_first_within_the_limit() -> None:
    index = ExpiryIndex(bucket_seconds=1.0)
    for i, deadline in enumerate([12.5, 10.2, 10.9, 11.0, 13.0]):
        index.add(f"k{i}".encode(), deadline)
    assert index.due(10.0) == ([], False)
    assert index.due(10.5) == ([b"k1"], False)  # the bucket "now" is in: only deadlines before now
    assert len(index) == 4
    keys, more = index.due(100.0, limit=2)
    assert (keys, more) == ([b"k2", b"k3"], True)
    assert index.due(100.0, limit=2) == ([b"k0", b"k4"], False)
    assert len(index) == 0 and index.due(1e12) == ([], False)


def test_index_limit_splits_a_bucket_and_keeps_the_rest() -> None:
    index = ExpiryIndex()
    for i in range(5):
        index.add(bytes([i]), 50.0 + i / 10)
    assert index.due(60.0, limit=3) == ([b"\x00", b"\x01", b"\x02"], True)
    assert index.due(50.35, limit=3) == ([b"\x03"], False)  # left: 50.3 (due) and 50.4 (not yet)
    assert len(index) == 1
    assert index.due(60.0) == ([b"\x04"], False)


def test_index_partial_bucket_limit() -> None:
    index = ExpiryIndex()
    for i in range(4):
        index.add(bytes([i]), 50.0 + i / 10)  # 50.0, 50.1, 50.2, 50.3
    assert index.due(50.25, limit=2) == ([b"\x00", b"\x01"], True)
    assert index.due(50.25, limit=2) == ([b"\x02"], False)
    assert len(index) == 1


def test_sweep_reads_only_what_fell_due() -> None:
    j = joiner(ttl=100.0)
    for i in range(1000):
        j.prediction(f"p{i}".encode(), T0 + i, 0.5, 0)  # deadlines T0+100 .. T0+1099
    store: Any = j.store
    store.reads = 0
    result = j.sweep(T0 + 110.5)  # deadlines before it: T0+100 .. T0+110
    assert result.expired == 11 and result.pending_predictions == 989
    assert store.reads == 11  # not the 1,000 entries of the table
    assert len(store.data) == 989 and b"p10" not in store.data and b"p11" in store.data


def test_a_half_that_joined_is_not_expired_under_its_old_deadline() -> None:
    j = joiner(ttl=100.0, window=60.0)
    j.prediction(b"r", T0, 0.9, 0)
    j.outcome(b"r", T0 + 50, 1.0, 0)  # joined: kept until its window is final (T0 + 160)
    result = j.sweep(T0 + 101)
    assert (result.expired, result.forgotten, result.pending_predictions) == (0, 0, 0)
    assert decode_entry(j.store.data[b"r"]).state is State.JOINED
    assert j.sweep(T0 + 161).forgotten == 1 and j.store.data == {}


def test_sweep_in_slices_removes_everything_due_across_calls() -> None:
    j = joiner(ttl=10.0)
    for i in range(50):
        j.prediction(f"p{i}".encode(), T0 + i / 100, 0.5, 0)
        j.outcome(f"o{i}".encode(), T0 + i / 100, 1.0, 0)
    slices = []
    while True:
        result = j.sweep(T0 + 1000, limit=30)
        slices.append(result.expired + result.orphaned)
        if not result.more:
            break
    assert slices == [30, 30, 30, 10]
    assert (j.counts["expired"], j.counts["orphaned"]) == (50, 50)
    assert (j.pending_predictions, j.pending_outcomes) == (0, 0) and j.store.data == {}


def test_rebuild_refills_the_index_and_the_pending_counts() -> None:
    j = joiner(ttl=100.0)
    j.prediction(b"a", T0, 0.1, 0)
    j.outcome(b"b", T0 + 5, 1.0, 0)
    j.prediction(b"c", T0, 0.2, 0)
    j.outcome(b"c", T0 + 1, 0.0, 0)
    fresh = Joiner(j.store, WindowBook(60.0, j.book.metrics), 100.0)
    assert fresh.rebuild() == 3
    assert (fresh.pending_predictions, fresh.pending_outcomes, len(fresh.index)) == (1, 1, 3)
    result = fresh.sweep(T0 + 106)
    assert (result.expired, result.orphaned, result.pending_predictions, result.pending_outcomes) == (1, 1, 0, 0)


class FakeProducer:
    def __init__(self) -> None:
        self.started, self.should_stop = True, False
        self.sent: list[tuple[str, bytes, bytes | None, int]] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def send(self, topic: str, key: bytes, value: bytes | None, partition: int, timestamp: Any,
                   headers: Any) -> asyncio.Future[Any]:
        self.sent.append((topic, key, value, partition))
        await asyncio.sleep(0)  # a send may yield: the order must hold regardless
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future


class FakeTable:
    def __init__(self) -> None:
        self.persisted: dict[int, int] = {}
        producer = FakeProducer()
        self.app = type("App", (), {"producer": producer, "in_transaction": False})()
        self.changelog_topic = type("Topic", (), {"get_topic_name": staticmethod(lambda: "pairs-changelog")})()
        persisted = self.persisted
        self.data = type("Store", (), {"set_persisted_offset": staticmethod(
            lambda tp, offset: persisted.__setitem__(tp.partition, offset))})()


@pytest.mark.timeout(10)
async def test_outbox_keeps_write_order_across_concurrent_flushes_and_persists_offsets() -> None:
    table = FakeTable()
    outbox = ChangelogOutbox(table)
    outbox.put(0, b"k", b"prediction")
    outbox.put(1, b"x", b"other")
    first = asyncio.create_task(outbox.flush())
    await asyncio.sleep(0)  # the first flush is inside a send
    outbox.put(0, b"k", b"joined")
    outbox.put(0, b"k", None)
    second = asyncio.create_task(outbox.flush())
    assert await first == 2 and await second == 2
    producer = table.app.producer
    assert [(k, v, p) for _t, k, v, p in producer.sent] == [
        (b"k", b"prediction", 0), (b"x", b"other", 1), (b"k", b"joined", 0), (b"k", None, 0)]
    assert {t for t, *_ in producer.sent} == {"pairs-changelog"}
    for offset, future in enumerate(producer.futures):
        future.set_result(type("Meta", (), {"offset": offset})())
    await asyncio.sleep(0)
    # Per flush and partition, the last record's offset: partition 0's is the second flush's last.
    assert table.persisted == {0: 3, 1: 1}
    assert outbox.sent == 4 and outbox.records == []


async def test_outbox_holds_records_while_the_producer_is_not_running() -> None:
    table = FakeTable()
    table.app.producer.started = False
    outbox = ChangelogOutbox(table)
    outbox.put(0, b"k", b"v")
    assert await outbox.flush() == 0 and outbox.records == [(0, b"k", b"v")]
    table.app.producer.started = True
    assert await outbox.flush() == 1 and table.app.producer.sent == [("pairs-changelog", b"k", b"v", 0)]


def test_index_keeps_deadlines_compactly() -> None:
    index = ExpiryIndex()
    for i in range(10_000):
        index.add(b"%d" % i, 100.0 + i * 1e-3)
    keys, more = index.due(105.0)
    assert len(keys) == 5_000 and not more and len(index) == 5_000
    rest, _ = index.due(np.inf)
    assert rest[0] == b"5000" and len(rest) == 5_000


@pytest.mark.timeout(60)
async def test_app_sweeps_in_slices_and_yields_between_them(tmp_path: Any) -> None:
    import json
    import time

    from sidecar.config import Settings
    from sidecar.join.app import create_join_app

    now = [T0]
    settings = Settings(model="churn", alerts={"topic": None}, store={"path": str(tmp_path / "store")},
                        join={"http": {"port": 0}, "data_dir": str(tmp_path / "faust"), "ttl_seconds": 100.0,
                              "window_seconds": 60.0})
    join = create_join_app(settings, clock=lambda: now[0])
    join.faust.finalize()
    async with join.predictions.test_context() as predictions:
        for i in range(7):
            body = json.dumps({"request_id": f"r{i}", "timestamp": T0 + i, "score": 0.5}).encode()
            await predictions.put(body, key=f"r{i}".encode())
        deadline = time.monotonic() + 10
        while join.joiner.counts["prediction"] < 7:
            assert time.monotonic() < deadline, "the predictions were not handled"
            await asyncio.sleep(0.01)
    ticks = [0]

    async def ticker() -> None:
        while True:
            ticks[0] += 1
            await asyncio.sleep(0)

    background = asyncio.create_task(ticker())
    now[0] = T0 + 200
    result = await join.sweep_in_slices(limit=2)
    background.cancel()
    assert (result.expired, result.pending_predictions) == (7, 0)
    assert ticks[0] >= 3  # the loop ran between the four slices
    assert len(join.table.data) == 0
    assert join.metrics.registry.get_sample_value("model_health_join_events_total",
                                                  {"model": "churn", "event": "expired"}) == 7
