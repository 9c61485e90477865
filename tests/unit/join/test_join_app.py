"""The faust app's agents driven with faust's test context (no broker)."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sidecar.config import Settings
from sidecar.join.app import JoinApp, create_join_app
from sidecar.performance.cbpe import CBPE
from sidecar.performance.production import get_production_metrics

T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def settings(tmp_path: Path, **join: object) -> Settings:
    return Settings(model="churn", alerts={"topic": None}, store={"path": str(tmp_path / "store")},
                    join={"http": {"port": 0}, "data_dir": str(tmp_path / "faust"), "min_pairs": 1,
                          "ttl_seconds": 100.0, "window_seconds": 60.0, **join})


def body(request_id: str, when: float, **values: object) -> bytes:
    return json.dumps({"request_id": request_id, "timestamp": when, **values}).encode()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def join(tmp_path: Path, clock: Clock) -> AsyncIterator[JoinApp]:
    app = create_join_app(settings(tmp_path), clock=clock)
    app.faust.finalize()
    yield app


async def until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Agents take events in batches (up to join.batch_seconds later than put() returns): wait for them."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def handled(app: JoinApp, n: int) -> Callable[[], bool]:
    c = app.joiner.counts
    return lambda: c["prediction"] + c["outcome"] + c["invalid"] >= n


def sample(app: JoinApp, name: str, **labels: str) -> float | None:
    return app.metrics.registry.get_sample_value(name, {"model": "churn", **labels})


@pytest.mark.timeout(60)
async def test_agents_join_once_and_count_duplicates(join: JoinApp) -> None:
    async with join.predictions.test_context() as predictions, join.outcomes.test_context() as outcomes:
        await predictions.put(body("r1", T0, score=0.9), key=b"r1")
        await outcomes.put(body("r1", T0 + 10, label=1), key=b"r1")
        await outcomes.put(body("r1", T0 + 11, label=1), key=b"r1")  # delivered twice
        await predictions.put(body("r1", T0, score=0.9), key=b"r1")
        await outcomes.put(body("r2", T0 + 3, label=0), key=b"r2")  # outcome first
        await predictions.put(body("r2", T0 + 1, score=0.2), key=b"r2")
        await predictions.put(b"garbage", key=b"r3")
        await until(handled(join, 7), "7 records")
        assert dict(join.joiner.counts) == {"prediction": 3, "outcome": 3, "joined": 2, "duplicate_outcome": 1,
                                            "duplicate_prediction": 1, "invalid": 1}
    join.sweep()
    assert sample(join, "model_health_join_events_total", event="joined") == 2
    assert sample(join, "model_health_join_events_total", event="duplicate_outcome") == 1
    assert sample(join, "model_health_join_events_total", event="duplicate_prediction") == 1
    assert sample(join, "model_health_join_events_total", event="invalid") == 1
    assert sample(join, "model_health_production_metric", metric="accuracy") == 1.0
    assert sample(join, "model_health_label_coverage") == 1.0
    assert sample(join, "model_health_label_delay_seconds", quantile="p50") == pytest.approx(6.0)
    points = get_production_metrics("accuracy", model="churn", settings=join.settings)
    assert [(t.timestamp(), v) for t, v in points] == [(math.floor(T0 / 60) * 60, 1.0)]
    assert get_production_metrics("label_coverage", model="churn", settings=join.settings)[0][1] == 1.0


@pytest.mark.timeout(60)
async def test_unknown_outcome_is_orphaned_and_a_lonely_prediction_expires(join: JoinApp, clock: Clock) -> None:
    async with join.predictions.test_context() as predictions, join.outcomes.test_context() as outcomes:
        await outcomes.put(body("nobody", T0, label=1), key=b"nobody")
        await predictions.put(body("alone", T0, score=0.3), key=b"alone")
        await until(handled(join, 2), "2 records")
    first = join.sweep()
    assert (first.pending_outcomes, first.pending_predictions) == (1, 1)
    assert sample(join, "model_health_join_pending", kind="outcome") == 1
    clock.now = T0 + 101
    second = join.sweep()
    assert (second.orphaned, second.expired) == (1, 1)
    assert sample(join, "model_health_join_events_total", event="orphaned") == 1
    assert sample(join, "model_health_join_events_total", event="expired") == 1
    assert sample(join, "model_health_join_pending", kind="outcome") == 0
    assert len(join.table.data) == 0


@pytest.mark.timeout(60)
async def test_recovery_rebuilds_windows_from_the_table(join: JoinApp) -> None:
    async with join.predictions.test_context() as predictions, join.outcomes.test_context() as outcomes:
        for i in range(4):
            await predictions.put(body(f"r{i}", T0 + i, score=0.8), key=f"r{i}".encode())
        await outcomes.put(body("r0", T0 + 20, label=1), key=b"r0")
        await until(handled(join, 5), "5 records")
    before = join.book.evaluate(math.floor(T0 / 60))
    assert join.recover() == 4
    after = join.book.evaluate(math.floor(T0 / 60))
    assert (after.predictions, after.pairs, after.coverage) == (before.predictions, before.pairs, 0.25)


@pytest.mark.timeout(60)
async def test_estimated_metrics_from_a_reference_file(tmp_path: Path, clock: Clock) -> None:
    rng = np.random.default_rng(7)
    score = rng.random(4000)
    label = (rng.random(4000) < score).astype(int)
    reference = tmp_path / "reference.csv"
    pd.DataFrame({"score": score, "label": label}).to_csv(reference, index=False)
    app = create_join_app(settings(tmp_path, reference=str(reference), min_pairs=50), clock=clock)
    app.faust.finalize()
    current = rng.random(200)
    async with app.predictions.test_context() as predictions:
        for i, s in enumerate(current):
            await predictions.put(body(f"e{i}", T0 + i * 0.1, score=float(s)), key=f"e{i}".encode())
        await until(handled(app, 200), "200 records")
    app.sweep()
    expected = CBPE.fit(label.astype(float), score).estimate(current)
    assert sample(app, "model_health_estimated_metric", metric="accuracy") == pytest.approx(
        expected["accuracy"].value, abs=1e-12)
    assert sample(app, "model_health_production_metric", metric="accuracy") is None  # no outcomes yet
    stored = get_production_metrics("estimated_accuracy", model="churn", settings=app.settings)
    assert stored[0][1] == pytest.approx(expected["accuracy"].value, abs=1e-12)


class Reports:
    def __init__(self) -> None:
        self.reports: list[object] = []

    def on_report(self, _stream: object, report: object) -> None:
        self.reports.append(report)


@pytest.mark.timeout(60)
async def test_sla_crossing_is_a_check_result_and_an_alert_report(tmp_path: Path, clock: Clock) -> None:
    notifier = Reports()
    base = settings(tmp_path).model_dump()
    base["sla"] = {"accuracy": {"warning": 0.9, "critical": 0.8}}
    app = create_join_app(Settings(**base), clock=clock, notifier=notifier)
    app.faust.finalize()
    async with app.predictions.test_context() as predictions, app.outcomes.test_context() as outcomes:
        for i, (score, label) in enumerate([(0.9, 1), (0.8, 0), (0.2, 1), (0.1, 0)]):  # accuracy 0.5
            await predictions.put(body(f"s{i}", T0 + i, score=score), key=f"s{i}".encode())
            await outcomes.put(body(f"s{i}", T0 + 30, label=label), key=f"s{i}".encode())
        await until(handled(app, 8), "8 records")
    app.sweep()
    assert sample(app, "model_health_production_metric", metric="accuracy") == 0.5
    status = sample(app, "model_health_check_status", contract="churn.performance", check="sla", feature="accuracy")
    assert status == 2
    (report,) = notifier.reports
    assert [(r.check, r.column, r.status.value) for r in report.results] == [("sla", "accuracy", "critical")]
