"""The batched write path: a batch of halves joined at once (one read, one write, the book and the expiry index
updated in bulk), the RocksDB store's multi-get and write batch, and the changelog sent as prebuilt record
batches."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder

from sidecar.join import changelog, faustcompat
from sidecar.join.changelog import ChangelogOutbox
from sidecar.join.expiry import ExpiryIndex
from sidecar.join.joiner import Half, Joiner
from sidecar.join.tables import (
    DictPairStore,
    Entry,
    FaustPairStore,
    State,
    decode_entry,
    encode_entry,
    pack_half,
    pack_pair,
    unpack_half,
)
from sidecar.join.windows import WindowBook

T0 = 1_800_000_000.0


class CountingStore(DictPairStore):
    """Counts batch reads and writes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def get_many(self, keys: Any, partition: int) -> list[bytes | None]:
        self.calls.append(("get", len(keys)))
        return super().get_many(keys, partition)

    def set_many(self, items: Any, partition: int) -> None:
        self.calls.append(("set", len(items)))
        super().set_many(items, partition)


def joiner(store: DictPairStore | None = None) -> Joiner:
    return Joiner(store if store is not None else DictPairStore(), WindowBook(60.0, lambda y, s: {"n": len(y)}), 100.0)


def test_a_batch_reads_once_writes_once_and_sees_its_own_writes() -> None:
    store = CountingStore()
    j = joiner(store)
    assert j.outcomes([Half(b"a", T0 + 5, 1.0)], 0) == 0
    # b twice in one batch: the second reads what the first wrote (a duplicate), not the empty store.
    halves = [Half(b"a", T0, 0.9), Half(b"b", T0, 0.1), Half(b"b", T0 + 1, 0.2), Half(b"c", T0, 0.3)]
    assert j.predictions(halves, 0) == 1
    assert store.calls == [("get", 1), ("set", 1), ("get", 4), ("set", 3)]  # one entry per key written
    assert decode_entry(store.data[b"a"]).state is State.JOINED
    assert decode_entry(store.data[b"b"]).score == 0.1
    assert (j.counts["prediction"], j.counts["duplicate_prediction"], j.counts["joined"]) == (4, 1, 1)
    assert (j.pending_predictions, j.pending_outcomes) == (2, 0)
    # Outcomes in one batch: the first joins b, the second is a duplicate of the pair it made.
    assert j.outcomes([Half(b"b", T0 + 9, 0.0), Half(b"b", T0 + 9, 0.0)], 0) == 1
    assert (j.counts["duplicate_outcome"], j.pending_predictions) == (1, 1)


def test_batches_end_where_one_by_one_ends() -> None:
    rng = random.Random(7)
    arrivals = [(rng.random() < 0.5, f"r{rng.randrange(40)}".encode(), T0 + i, rng.random()) for i in range(400)]
    single, batched = joiner(), joiner()
    for is_outcome, key, when, value in arrivals:
        (single.outcome if is_outcome else single.prediction)(key, when, value, 0)
    i = 0
    while i < len(arrivals):  # runs of one kind, cut into batches of random size
        kind, n = arrivals[i][0], rng.randrange(1, 9)
        run = []
        while i < len(arrivals) and arrivals[i][0] is kind and len(run) < n:
            run.append(Half(arrivals[i][1], arrivals[i][2], arrivals[i][3]))
            i += 1
        (batched.outcomes if kind else batched.predictions)(run, 0)
    assert batched.store.data == single.store.data
    assert batched.counts == single.counts
    assert (batched.pending_predictions, batched.pending_outcomes) == (single.pending_predictions,
                                                                       single.pending_outcomes)
    assert [vars(r) for r in batched.book.evaluate_dirty()] == [vars(r) for r in single.book.evaluate_dirty()]
    assert batched.sweep(T0 + 1e6).forgotten == single.sweep(T0 + 1e6).forgotten


def test_rocksdb_store_reads_and_writes_a_batch_on_the_partition_database(tmp_path: Any) -> None:
    app = faust.App("batches-rocks", store="rocksdb://", datadir=str(tmp_path), autodiscover=False,
                    web_enabled=False)
    table = app.Table("batches-rocks-table", key_type=bytes, value_type=bytes, partitions=4)
    app.finalize()
    store = FaustPairStore(table)
    assert store.database is not None
    store.set_many([(b"a", b"1"), (b"b", b"2"), (b"a", b"3")], 2)
    assert store.get_many([b"a", b"missing", b"b"], 2) == [b"3", None, b"2"]
    assert store.database(2).get(b"b") == b"2" and store.database(1).get(b"b") is None
    assert table.data.get(b"a") == b"3"  # faust's own reads (the sweep's) find them
    assert store.outbox.records == [(2, b"a", b"1"), (2, b"b", b"2"), (2, b"a", b"3")]


class BatchingProducer:
    """aiokafka's batch API over real BatchBuilders of a given size; delivery is up to the test."""

    def __init__(self, batch_size: int = 16384) -> None:
        self.batch_size = batch_size
        self.batches: list[tuple[str, int, BatchBuilder, asyncio.Future[Any]]] = []

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_size, 0)  # no compression

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> asyncio.Future[Any]:
        assert batch.closed()  # closed: sent at once, nothing else joins it
        await asyncio.sleep(0)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.batches.append((topic, partition, batch, future))
        return future


class FakeTable:
    def __init__(self) -> None:
        self.persisted: dict[int, int] = {}
        producer = type("Producer", (), {"started": True, "should_stop": False})()
        self.app = type("App", (), {"producer": producer, "in_transaction": False})()
        self.changelog_topic = type("Topic", (), {"get_topic_name": staticmethod(lambda: "pairs-changelog")})()
        persisted = self.persisted
        self.data = type("Store", (), {"set_persisted_offset": staticmethod(
            lambda tp, offset: persisted.__setitem__(tp.partition, offset))})()


def records_of(batch: BatchBuilder) -> list[tuple[bytes | None, bytes | None]]:
    from aiokafka.record.default_records import DefaultRecordBatch

    return [(r.key, r.value) for r in DefaultRecordBatch(bytearray(batch._build()))]


@pytest.mark.timeout(10)
async def test_outbox_sends_a_batch_per_partition_and_persists_the_last_offset(
        monkeypatch: pytest.MonkeyPatch) -> None:
    producer = BatchingProducer(batch_size=200)  # room for a few records: the flush must split
    monkeypatch.setattr(changelog, "record_batches", lambda app: producer)
    table = FakeTable()
    outbox = ChangelogOutbox(table)
    expected = [(b"k%02d" % i, b"v" * 20) for i in range(12)]
    for key, value in expected:
        outbox.put(0, key, value)
    outbox.put(1, b"x", None)
    assert await outbox.flush() == 13
    zero = [b for b in producer.batches if b[1] == 0]
    assert len(zero) > 1 and {b[0] for b in producer.batches} == {"pairs-changelog"}
    assert [r for b in zero for r in records_of(b[2])] == expected  # in order, across the split
    (one,) = [b for b in producer.batches if b[1] == 1]
    assert records_of(one[2]) == [(b"x", None)]
    base = 100
    for _topic, _partition, batch, future in producer.batches:  # a batch reports its first offset
        future.set_result(type("Meta", (), {"offset": base})())
        base += batch.record_count()
    await asyncio.sleep(0)
    assert table.persisted == {0: 111, 1: 112}


@pytest.mark.timeout(10)
async def test_outbox_sends_a_record_larger_than_a_batch_in_one_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    producer = BatchingProducer(batch_size=100)
    monkeypatch.setattr(changelog, "record_batches", lambda app: producer)
    outbox = ChangelogOutbox(FakeTable())
    outbox.put(0, b"a", b"1")
    outbox.put(0, b"big", b"x" * 500)
    outbox.put(0, b"b", b"2")
    assert await outbox.flush() == 3
    assert [records_of(b[2]) for b in producer.batches] == [[(b"a", b"1")], [(b"big", b"x" * 500)], [(b"b", b"2")]]


async def test_record_batches_is_the_started_aiokafka_producer_of_the_tested_faust(
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = faust.App("batches-producer", broker="kafka://127.0.0.1:1", autodiscover=False, web_enabled=False)
    assert faustcompat.record_batches(app) is None  # not started
    inner = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1")  # never started: nothing connects
    # What Producer.on_start does; the guard is wrong if the batch API is not on what it finds there.
    monkeypatch.setattr(app.producer, "_producer", inner)
    assert faustcompat.record_batches(app) is inner
    assert isinstance(inner.create_batch(), BatchBuilder)
    monkeypatch.setattr(type(app), "in_transaction", property(lambda self: True))
    assert faustcompat.record_batches(app) is None  # transactions produce through their own producers
    monkeypatch.undo()
    monkeypatch.setattr(app.producer, "_producer", inner)
    monkeypatch.setattr(faust, "__version__", "0.0.0")
    assert faustcompat.record_batches(app) is None


def test_packing_helpers_write_what_encode_entry_writes() -> None:
    nan = float("nan")
    assert pack_half(State.PREDICTION, 3, T0, 0.25) == encode_entry(Entry(State.PREDICTION, 3, T0, 0.25, nan, nan))
    assert pack_half(State.OUTCOME, 1, T0 + 5, 1.0) == encode_entry(Entry(State.OUTCOME, 1, nan, nan, T0 + 5, 1.0))
    pair = Entry(State.JOINED, 2, T0, 0.5, T0 + 9, 0.0)
    assert pack_pair(2, T0, 0.5, T0 + 9, 0.0) == encode_entry(pair)
    assert unpack_half(encode_entry(Entry(State.OUTCOME, 1, nan, nan, T0 + 5, 1.0))) == (State.OUTCOME, T0 + 5, 1.0)
    assert unpack_half(encode_entry(pair)) is None


def _deadlines(kind: str) -> list[float]:
    rng = random.Random(3)
    if kind == "one bucket":
        return [T0 + 0.25 + rng.random() * 0.5 for _ in range(50)]
    if kind == "two clusters":  # waiting halves and pairs in one batch: TTL apart by one window
        return [T0 + 0.25 + rng.random() * 0.5 + (3600.0 if rng.random() < 0.5 else 0.0) for _ in range(50)]
    return [T0 + rng.random() * 30 for _ in range(50)]


@pytest.mark.parametrize("kind", ["one bucket", "two clusters", "spread"])
def test_index_add_many_files_like_add(kind: str) -> None:
    deadlines = _deadlines(kind)
    keys = [b"k%d" % i for i in range(50)]
    one, many = ExpiryIndex(), ExpiryIndex()
    for key, deadline in zip(keys, deadlines, strict=True):
        one.add(key, deadline)
    many.add_many(keys, deadlines)
    assert sorted(many._buckets) == sorted(one._buckets) and sorted(many._heap) == sorted(one._heap)
    assert len(many) == len(one) == 50
    for now in (T0 + 0.5, T0 + 10, T0 + 100, T0 + 3600.5, T0 + 4000):
        assert sorted(many.due(now)[0]) == sorted(one.due(now)[0])
        assert len(many) == len(one)


@pytest.mark.parametrize("spread", [10.0, 500.0])  # within one window, across several
def test_book_bulk_adds_match_single_adds(spread: float) -> None:
    rng = random.Random(5)
    times = [T0 + rng.random() * spread for _ in range(40)]
    scores = [rng.random() for _ in times]
    outcome_times = [t + 3 for t in times]
    labels = [float(rng.random() > 0.5) for _ in times]
    one, bulk = (WindowBook(60.0, lambda y, s: {"mean": float(y.mean())}) for _ in range(2))
    for t, s, o, y in zip(times, scores, outcome_times, labels, strict=True):
        one.add_prediction(t, s)
        one.add_pair(Entry(State.JOINED, 0, t, s, o, y))
    bulk.add_predictions(times, scores)
    bulk.add_pairs(times, scores, outcome_times, labels)
    assert sorted(bulk.dirty) == sorted(one.dirty) and len(one.dirty) >= 1
    assert [vars(r) for r in bulk.evaluate_dirty()] == [vars(r) for r in one.evaluate_dirty()]
