"""HTTP-fed rows of a stream close on time: on Kafka's watermark or the wall clock, whichever is later, and a
window fed both ways is one report (its HTTP part merged into its Kafka part at close)."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd

from sidecar.config import TopicSettings, WindowSettings
from sidecar.contract import DataContract
from sidecar.decoders import RawMessage
from sidecar.stream.topic import TopicStream

SIZE, LATENESS = 60.0, 5.0


class Clock:
    """A wall clock the test moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def stream(clock: Clock) -> TopicStream:
    ref = pd.DataFrame({"x": np.random.default_rng(0).normal(size=500)})
    contract = DataContract("t", ref)
    return TopicStream("inputs", TopicSettings(topic="t", contract="unused", format="record"),
                       WindowSettings(size_seconds=SIZE, lateness_seconds=LATENESS, min_rows=1), contract,
                       clock=clock)


def messages(ts: list[float]) -> list[RawMessage]:
    return [RawMessage(orjson.dumps({"timestamp": t, "values": {"x": float(i)}}), ()) for i, t in enumerate(ts)]


def test_http_part_of_a_window_is_merged_into_its_kafka_part_while_http_is_quiet() -> None:
    clock = Clock(now=10.0)  # the wall clock lags event time: only Kafka's watermark moves the stream
    s = stream(clock)
    s.ingest(messages([1.0] * 120))  # HTTP: 120 rows of window [0, 60), then HTTP goes quiet
    s.ingest(messages([2.0] * 30), partition="p0", offsets=np.arange(30))
    assert s.due() == []
    s.ingest(messages([SIZE + LATENESS + 1.0]), partition="p0", offsets=np.array([30]))
    (window,) = s.due()
    assert (window.start, window.rows) == (0.0, 150)
    assert window.min_offsets == {"p0": 0}
    assert s.http_windows.open == {}


def test_http_only_window_closes_on_the_wall_clock_without_kafka() -> None:
    clock = Clock(now=30.0)
    s = stream(clock)
    s.ingest(messages([1.0, 2.0, 3.0]))
    assert s.due() == []
    clock.now = SIZE + LATENESS
    (window,) = s.due()
    assert (window.start, window.rows) == (0.0, 3)


def test_http_part_waits_for_an_open_kafka_part_of_the_same_window() -> None:
    clock = Clock(now=SIZE + LATENESS + 100.0)  # the wall clock is past the window; Kafka lags behind it
    s = stream(clock)
    s.ingest(messages([5.0] * 10), partition="p0", offsets=np.arange(10))
    s.ingest(messages([6.0] * 4))
    assert s.due() == []  # Kafka's part is open, so the HTTP part waits to be merged, not reported alone
    s.ingest(messages([SIZE + LATENESS]), partition="p0", offsets=np.array([10]))
    (window,) = s.due()
    assert window.rows == 14


def test_shutdown_merges_the_two_parts_of_each_open_window() -> None:
    s = stream(Clock(now=0.0))
    s.ingest(messages([1.0, 70.0]), partition="p0", offsets=np.arange(2))
    s.ingest(messages([2.0, 3.0, 71.0]))
    closed = s.close_all()
    assert [(w.start, w.rows) for w in closed] == [(0.0, 3), (SIZE, 2)]
