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
