"""The sidecar's HTTP app with Kafka unreachable: health stays green, CloudEvents still feed windows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from sidecar import DataContract
from sidecar.config import Settings
from sidecar.demo.data import churn_frame
from sidecar.run import SERVICE, create_app

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    DataContract("churn_inputs", churn_frame(2000, seed=1)).save(tmp_path / "contracts")
    settings = Settings(
        model="churn",
        # Nothing listens on port 1: the sidecar must keep serving while it retries Kafka.
        kafka={"bootstrap_servers": "127.0.0.1:1", "retry_backoff_seconds": 0.2},
        inputs={"topic": "churn.inputs", "contract": str(tmp_path / "contracts" / "churn_inputs")},
        window={"size_seconds": 60, "lateness_seconds": 0, "min_rows": 10, "idle_close_seconds": None},
        store={"path": str(tmp_path / "reports")},
    )
    async with TestClient(TestServer(create_app(settings))) as c:
        yield c


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


async def test_health_does_not_depend_on_kafka(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["kafka_connected"] is False
    metrics = _samples(await (await client.get("/metrics")).text())
    assert metrics[("model_health_kafka_up", frozenset({("model", "churn")}))] == 0


async def test_every_feature_series_exists_from_start(client: TestClient) -> None:
    metrics = _samples(await (await client.get("/metrics")).text())
    for feature in churn_frame(1).columns:
        key = ("model_health_check_status", frozenset({("model", "churn"), ("contract", "churn_inputs"),
                                                       ("check", "special_values"), ("feature", feature)}))
        assert metrics[key] == 0


async def test_cloudevents_feed_the_window(client: TestClient) -> None:
    rows = churn_frame(50, seed=3).astype({"signup_date": str}).to_dict("records")
    for i, row in enumerate(rows):
        resp = await client.post("/v1/events", data=orjson.dumps(row), headers={
            "Ce-Specversion": "1.0", "Ce-Id": f"req-{i}", "Ce-Source": "kserve",
            "Ce-Type": "org.kubeflow.serving.inference.request", "Ce-Time": "2027-01-15T08:00:10Z",
            "Content-Type": "application/json"})
        assert resp.status == 202, await resp.text()
    service = client.server.app[SERVICE]
    (window,) = service.open_windows["churn.inputs"]
    assert window.rows == 50
    bad = await client.post("/v1/events", data=b"{oops", headers={"Ce-Specversion": "1.0", "Ce-Id": "x",
                                                                   "Ce-Type": "x.request", "Ce-Source": "s",
                                                                   "Content-Type": "application/json"})
    assert bad.status == 400 and (await bad.json())["errors"][0]["error_class"] == "InvalidJSON"
    metrics = _samples(await (await client.get("/metrics")).text())
    labels = {("model", "churn"), ("topic", "churn.inputs")}
    assert metrics[("model_health_records_total", frozenset(labels | {("result", "ok")}))] == 50
    assert metrics[("model_health_records_total", frozenset(labels | {("result", "dead_lettered")}))] == 1


async def test_events_for_a_stream_not_watched_are_accepted_and_counted_as_ignored(client: TestClient) -> None:
    # KServe's payload logger in mode "all" posts responses too; a sidecar watching only inputs takes them.
    for _ in range(2):
        resp = await client.post("/v1/events", data=b'{"outputs": []}', headers={
            "Ce-Specversion": "1.0", "Ce-Id": "r", "Ce-Source": "kserve",
            "Ce-Type": "org.kubeflow.serving.inference.response", "Content-Type": "application/json"})
        assert resp.status == 202 and (await resp.json())["ignored_messages"] == 1
    metrics = _samples(await (await client.get("/metrics")).text())
    key = frozenset({("model", "churn"), ("stream", "predictions")})
    assert metrics[("model_health_http_events_ignored_total", key)] == 2


async def test_unknown_stream_name_is_rejected(client: TestClient) -> None:
    resp = await client.post("/v1/events?stream=bogus", data=b"{}")
    assert resp.status == 400
