"""aiokafka's expected noise is lowered and thinned; its stray CancelledError on stop() is absorbed."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sidecar.kafka.noise import ExpectedNoiseFilter, install_noise_filter, stop_quietly


def test_expected_failures_become_one_info_line_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    noise = install_noise_filter()
    noise.throttle.reset()  # one filter per process: forget what earlier tests let through
    fetcher = logging.getLogger("aiokafka.consumer.fetcher")
    with caplog.at_level(logging.INFO):
        for _ in range(50):
            fetcher.error("Failed fetch messages from %d: NodeNotReadyError", 1)
            logging.getLogger("aiokafka").error("Unable connect to node with id 1: refused")
        fetcher.error("Something aiokafka never says while retrying")
    records = [r for r in caplog.records if r.name.startswith("aiokafka")]
    assert [(r.levelname, r.getMessage()[:20]) for r in records] == [
        ("INFO", "Failed fetch message"), ("INFO", "Unable connect to no"),
        ("ERROR", "Something aiokafka n")]


def test_the_next_line_says_how_many_were_held_back() -> None:
    noise = ExpectedNoiseFilter(interval=3600.0)
    record = logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, "Unable connect to node 1", None, None)
    assert noise.filter(record)  # the first goes through
    for _ in range(7):
        assert not noise.filter(logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, "Unable connect to x",
                                                  None, None))
    noise.throttle.interval = 0.0
    record = logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, "Unable connect to node 1", None, None)
    assert noise.filter(record) and record.levelno == logging.INFO
    assert record.getMessage().endswith("(7 more like this held back)")


async def test_stop_quietly_absorbs_aiokafkas_stray_cancellation() -> None:
    async def aiokafka_stop() -> None:  # what Fetcher.close() does with a task in its back-off
        task = asyncio.ensure_future(asyncio.sleep(10))
        task.cancel()
        await task

    await stop_quietly(aiokafka_stop())  # does not raise

    async def raises() -> None:
        raise OSError("socket gone")

    await stop_quietly(raises())


async def test_stop_quietly_still_honours_its_own_cancellation() -> None:
    started = asyncio.Event()

    async def slow_stop() -> None:
        started.set()
        await asyncio.sleep(10)

    task = asyncio.ensure_future(stop_quietly(slow_stop()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
