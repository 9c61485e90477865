"""The version guard around faust's current event: the tables must see the event the joiner sets."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
import pytest
from faust.streams import current_event

from sidecar.join import faustcompat


def test_guard_matches_the_installed_faust() -> None:
    assert faustcompat.BATCHES is (faust.__version__ == faustcompat.TESTED_VERSION)
    assert faustcompat.BATCHES, "the pinned faust-streaming must take the batched path"


@pytest.mark.timeout(30)
async def test_table_writes_in_a_batch_go_to_the_batch_partition() -> None:
    app = faust.App("faustcompat-test", store="memory://", autodiscover=False, web_enabled=False)
    topic = app.topic("faustcompat-in", key_type=bytes, value_type=bytes, key_serializer="raw",
                      value_serializer="raw")
    table = app.Table("faustcompat-table", key_type=bytes, value_type=bytes)
    seen: list[Any] = []

    async def body(stream: Any) -> None:
        async for events in stream.take_events(10, within=0.01):
            assert current_event() is None  # what take_events leaves: why the scope exists
            with faustcompat.current_event_scope(events[-1]):
                assert current_event() is events[-1]
                for event in events:
                    table[event.message.key] = event.message.value
                    seen.append(table.partition_for_key(event.message.key))
            assert current_event() is None

    agent = app.agent(topic, name="faustcompat", isolated_partitions=True)(body)
    app.finalize()
    async with agent.test_context() as ctx:
        await ctx.put(b"v1", key=b"k1", partition=3)
        await ctx.put(b"v2", key=b"k2", partition=3)
        deadline = time.monotonic() + 10
        while len(seen) < 2:
            assert time.monotonic() < deadline, "the batch was not handled"
            await asyncio.sleep(0.01)
    assert seen == [3, 3]
    assert dict(table.data) == {b"k1": b"v1", b"k2": b"v2"}


def test_partition_databases_are_the_ones_the_rocksdb_store_reads(tmp_path: Any) -> None:
    app = faust.App("faustcompat-rocks", store="rocksdb://", datadir=str(tmp_path), autodiscover=False,
                    web_enabled=False)
    table = app.Table("faustcompat-rocks-table", key_type=bytes, value_type=bytes, partitions=4)
    app.finalize()
    database = faustcompat.partition_databases(table)
    assert database is not None, "the pinned faust-streaming with rocksdict must take the direct path"
    database(2).put(b"k", b"v")
    # The store's own reads (no current event: the sweep's) find it, and its deletes remove it.
    assert table.data.get(b"k") == b"v"
    del table.data[b"k"]
    assert database(2).get(b"k") is None and table.data.get(b"k") is None


def test_partition_databases_declines_the_memory_store_and_other_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    app = faust.App("faustcompat-mem", store="memory://", autodiscover=False, web_enabled=False)
    table = app.Table("faustcompat-mem-table", key_type=bytes, value_type=bytes)
    app.finalize()
    assert faustcompat.partition_databases(table) is None
    monkeypatch.setattr(faust, "__version__", "0.0.0")
    assert faustcompat.partition_databases(table) is None
