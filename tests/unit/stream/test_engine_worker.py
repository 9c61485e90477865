"""The stream engine in this process and in the ingest worker process give the same answers.

The worker tests start a real child interpreter (``ProcessIngest``): batches cross a real shared-memory ring.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest
from aiokafka import TopicPartition

from sidecar import DataContract
from sidecar.config import Settings
from sidecar.decoders import RawMessage
from sidecar.demo.data import churn_frame
from sidecar.stream.engine import Outcome, Request, StreamEngine
from sidecar.stream.worker import LARGE_VALUE_BYTES, IngestWorkerDied, LocalIngest, ProcessIngest

pytestmark = pytest.mark.timeout(120)

T0 = 1_800_000_000.0
TP = TopicPartition("t", 0)


@pytest.fixture(scope="module")
def contract() -> DataContract:
    return DataContract("churn_inputs", churn_frame(3000, seed=1))


def settings(fmt: str = "auto") -> Settings:
    return Settings(model="m", inputs={"topic": "t", "contract": "unused", "format": fmt},
                    window={"size_seconds": 60, "lateness_seconds": 0, "min_rows": 10, "idle_close_seconds": None})


def records(n: int, start: float, seed: int = 2) -> list[RawMessage]:
    df = churn_frame(n, seed=seed).astype({"signup_date": str})
    rows = df.astype(object).where(df.notna(), None).to_dict("records")
    return [RawMessage(orjson.dumps({"request_id": f"r{i}", "timestamp": start + i * 0.01, "values": row}), (),
                       int((start + i * 0.01) * 1000)) for i, row in enumerate(rows)]


def arrow_message(n: int, start: float, seed: int = 3) -> RawMessage:
    df = churn_frame(n, seed=seed)
    df["timestamp"] = start + np.arange(n) * 0.001
    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(df, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return RawMessage(sink.getvalue().to_pybytes(), (), int(start * 1000))


def ingest(messages: list[RawMessage], first_offset: int) -> Request:
    return Request("ingest", "t", TP, messages, np.arange(first_offset, first_offset + len(messages)))


def values(outcome: Outcome) -> dict[tuple[str, str | None], Any]:
    return {(r.check, r.column): r.value for c in outcome.closed for r in c.report.results}


async def run(front: Any, requests: list[Request]) -> list[Outcome]:
    await front.start()
    try:
        futures = [await front.submit(r) for r in requests]
        return [await f for f in futures]
    finally:
        await front.stop()


def test_engine_reports_what_may_be_committed(contract: DataContract) -> None:
    engine = StreamEngine(settings(), {"inputs": contract})
    first = engine.handle(ingest(records(50, T0), 0))
    assert first.ingested is not None and first.ingested.accepted_rows == 50
    assert first.commits == {TP: 0} and [w.rows for w in first.open_windows["t"]] == [50]
    # A row past the window's end closes it: its 50 rows are published, the open window holds offset 50.
    second = engine.handle(ingest(records(1, T0 + 61), 50))
    assert [c.report.row_count["actual"] for c in second.closed] == [50]
    assert second.commits == {TP: 50} and second.closed_until["t"] == T0 + 60
    assert engine.handle(Request("reset")).commits == {}
    raised = engine.handle(Request("closed_until", closed_until={"t": T0 + 120}))
    assert raised.closed_until["t"] == T0 + 120
    with pytest.raises(KeyError, match="no stream consumes topic 'nope'"):
        engine.handle(Request("ingest", "nope", None, records(1, T0)))


async def test_worker_answers_like_the_engine_in_this_process(contract: DataContract) -> None:
    big = arrow_message(4000, T0 + 20)
    assert len(big.value) >= LARGE_VALUE_BYTES  # travels out of band and is read in place
    requests = [ingest(records(300, T0), 0), ingest([big], 300), ingest(records(5, T0 + 61), 301),
                Request("close_all")]
    here = await run(LocalIngest(settings(), {"inputs": contract}), requests)
    there = await run(ProcessIngest(settings(), {"inputs": contract}), requests)
    assert [o.ingested for o in here] == [o.ingested for o in there]
    assert [o.commits for o in here] == [o.commits for o in there]
    assert [[c.report.row_count["actual"] for c in o.closed] for o in there] == [[], [], [4300], [5]]
    got, want = values(there[2]), values(here[2])
    assert got.keys() == want.keys()
    assert all(got[k] == want[k] or (math.isnan(got[k]) and math.isnan(want[k])) for k in got
               if isinstance(got[k], float)), "window values differ between the worker and this process"


async def test_a_full_ring_waits_and_an_oversized_request_goes_through_the_socket(contract: DataContract) -> None:
    big = arrow_message(4000, T0)
    ring = len(big.value) // 2  # smaller than one message: that one goes inline
    small = [ingest(records(40, T0 + i), i * 40) for i in range(30)]  # together many times the ring
    requests = [*small[:10], ingest([big], 10_000), *small[10:], Request("close_all")]
    out = await run(ProcessIngest(settings(), {"inputs": contract}, ring_bytes=ring), requests)
    assert sum(o.ingested.accepted_rows for o in out if o.ingested) == 30 * 40 + 4000
    assert sum(c.report.row_count["actual"] for c in out[-1].closed) == 30 * 40 + 4000


@contextlib.asynccontextmanager
async def killed_worker(contract: DataContract, rows: int) -> AsyncIterator[ProcessIngest]:
    """A worker front-end whose worker ingested ``rows`` rows and was then killed with SIGKILL."""
    front = ProcessIngest(settings(), {"inputs": contract})
    await front.start()
    try:
        await (await front.submit(ingest(records(rows, T0), 0)))
        assert front.pid is not None
        os.kill(front.pid, signal.SIGKILL)
        yield front
    finally:
        await front.stop()


async def test_a_killed_worker_fails_its_requests_and_a_new_one_starts(contract: DataContract) -> None:
    async with killed_worker(contract, 10) as front:
        with pytest.raises(IngestWorkerDied, match="ingest worker exited"):
            for i in range(50):  # the death is noticed when the socket closes
                await asyncio.wait_for(await front.submit(ingest(records(1, T0), 10 + i)), 10)
        # The next request starts a fresh worker: its windows are empty (Kafka replays them).
        outcome = await (await front.submit(ingest(records(3, T0), 100)))
        assert front.restarts == 1 and [w.rows for w in outcome.open_windows["t"]] == [3]


async def test_a_failing_request_is_reported_not_fatal(contract: DataContract) -> None:
    front = ProcessIngest(settings(), {"inputs": contract})
    await front.start()
    try:
        with pytest.raises(RuntimeError, match="no stream consumes topic 'nope'"):
            await (await front.submit(Request("ingest", "nope", None, records(1, T0))))
        ok = await (await front.submit(ingest(records(2, T0), 0)))
        assert ok.ingested is not None and ok.ingested.accepted_rows == 2
    finally:
        await front.stop()


def test_a_window_that_cannot_be_judged_is_skipped_not_fatal(contract: DataContract,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    engine = StreamEngine(settings(), {"inputs": contract})
    engine.handle(ingest(records(20, T0), 0))

    def broken(window, partial=False):
        raise ValueError("a check blew up")

    monkeypatch.setattr(engine.streams["t"], "evaluate", broken)
    outcome = engine.handle(ingest(records(1, T0 + 61), 20))
    assert outcome.closed == [] and outcome.commits == {TP: 20}  # the window is gone, the stream goes on


async def test_a_worker_dying_while_idle_is_noticed_without_a_request(contract: DataContract) -> None:
    async with killed_worker(contract, 2) as front:
        for _ in range(100):  # the end of the socket is read by the event loop, not spun on
            if front._dead is not None:
                break
            await asyncio.sleep(0.05)
        assert front._dead is not None and "exit code -9" in front._dead
        generation = front.generation
        await (await front.submit(ingest(records(1, T0), 2)))
        assert front.generation == generation + 1


def test_rows_posted_over_http_survive_a_reset(contract: DataContract) -> None:
    # A rebalance (or a lost consumer) drops Kafka's open windows to replay them from the commits; rows that
    # came over HTTP cannot be replayed, so their windows are kept.
    engine = StreamEngine(settings(), {"inputs": contract})
    engine.handle(ingest(records(30, T0), 0))
    engine.handle(Request("ingest", "t", None, records(20, T0 + 1, seed=4)))
    assert [w.rows for w in engine.handle(Request("tick")).open_windows["t"]] == [30, 20]
    after = engine.handle(Request("reset"))
    assert [w.rows for w in after.open_windows["t"]] == [20] and after.commits == {}
    engine.handle(ingest(records(30, T0), 0))  # the replay
    closed = engine.handle(Request("close_all")).closed
    # each row once, in one report: the window's HTTP part is merged into its replayed Kafka part
    assert [c.report.row_count["actual"] for c in closed] == [50]


def test_answers_are_per_stream(contract: DataContract) -> None:
    two = Settings(model="m", inputs={"topic": "t", "contract": "unused"},
                   predictions={"topic": "p", "contract": "unused"},
                   window={"size_seconds": 60, "lateness_seconds": 0, "min_rows": 10, "idle_close_seconds": None})
    engine = StreamEngine(two, {"inputs": contract, "predictions": contract})
    answer = engine.handle(ingest(records(5, T0), 0))
    assert set(answer.open_windows) == set(answer.closed_until) == {"t"} and set(answer.commits) == {TP}
    assert set(engine.handle(Request("tick")).open_windows) == {"t", "p"}  # not a stream's own request: all


def test_the_ledger_keeps_streams_an_answer_did_not_mention() -> None:
    from sidecar.stream.ledger import DeliveryLedger

    ledger = DeliveryLedger(["t", "p"])
    tp_p = TopicPartition("p", 0)
    ledger.apply(Outcome(None, [], {TP: 5, tp_p: 9}, {"t": 1.0, "p": 2.0}, {}))
    ledger.apply(Outcome(None, [], {TP: 7}, {"t": 3.0}, {}))
    assert ledger.commits == {TP: 7, tp_p: 9} and ledger.closed_until == {"t": 3.0, "p": 2.0}
    ledger.apply(Outcome(None, [], {}, {"t": 3.0, "p": 2.0}, {}))  # after a reset: nothing is safe
    assert ledger.commits == {}
