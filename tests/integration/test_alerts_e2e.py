"""Alerts end to end with the real servers: Kafka -> sidecar -> Prometheus (shipped rules, short ``for:``) ->
Alertmanager -> a webhook this test runs; and the sidecar's direct push to Alertmanager plus its CloudEvents
on the alerts topic. Drift is injected, then removed: the firing alert arrives, then its resolution.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from alerting import Alertmanager, Prometheus, Webhook
from sidecar_proc import SidecarProcess
from traffic import make_contract, produce, record_messages, sidecar_config

from sidecar.demo.data import churn_frame

pytestmark = [pytest.mark.kafka, pytest.mark.integration, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
WINDOW = 5.0
ROWS_PER_WINDOW = 300
FEATURE = "tenure_months"  # drifts far past its critical threshold at drift=0.6


def _render_rules(path: Path) -> Path:
    spec = importlib.util.spec_from_file_location("render_rules", ROOT / "deploy" / "prometheus" / "render.py")
    assert spec is not None and spec.loader is not None
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    path.write_text(render.dump_yaml(render.render_rules(for_override="1s")))
    return path


class Traffic:
    """Windows of rows on an event-time clock that starts just behind the wall clock and only moves on."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.clock = math.floor(time.time() / WINDOW) * WINDOW - 3 * WINDOW
        self.batch = 0

    async def windows(self, n: int, drift: float) -> None:
        self.batch += 1
        rows = churn_frame(n * ROWS_PER_WINDOW, seed=100 + self.batch, drift=drift)
        msgs = record_messages(rows, start=self.clock, step=WINDOW / ROWS_PER_WINDOW, prefix=f"b{self.batch}-")
        await produce(self.bootstrap, self.topic, list(msgs))
        self.clock += n * WINDOW


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.stop()


@pytest.fixture
def alertmanager(tmp_path: Path, webhook: Webhook) -> Iterator[Alertmanager]:
    am = Alertmanager(tmp_path)
    try:
        yield am.start(webhook)
    finally:
        am.stop()


def _sidecar(tmp_path: Path, bootstrap: str, topic: str, alerts: dict[str, Any] | None = None) -> SidecarProcess:
    contracts = tmp_path / "contracts"
    make_contract(contracts)
    config = sidecar_config(bootstrap, topic, contracts, tmp_path / "store", size_seconds=WINDOW,
                            lateness_seconds=1, min_rows=50)
    config["alerts"] = {"topic": None, **(alerts or {})}
    return SidecarProcess(tmp_path, config).start()


async def _wait(webhook: Webhook, predicate: Any, timeout: float, what: str) -> Any:
    """The webhook's blocking wait, off the event loop (the topic fixture's admin client lives on it)."""
    return await asyncio.to_thread(webhook.wait_for, predicate, timeout, what)


def _firing(webhook: Webhook, **labels: str) -> list[dict[str, Any]]:
    return [a for a in webhook.alerts(**labels) if a["status"] == "firing"]


def _resolved(webhook: Webhook, **labels: str) -> list[dict[str, Any]]:
    return [a for a in webhook.alerts(**labels) if a["status"] == "resolved"]


async def test_prometheus_rules_route_drift_through_alertmanager(tmp_path: Path, kafka_bootstrap: str, kafka_topic: Any,
                                                           webhook: Webhook, alertmanager: Alertmanager) -> None:
    topic = await kafka_topic()
    sidecar = _sidecar(tmp_path, kafka_bootstrap, topic)
    prometheus = Prometheus(tmp_path).start([f"127.0.0.1:{sidecar.port}"], _render_rules(tmp_path / "rules.yml"),
                                            alertmanager)
    try:
        traffic = Traffic(kafka_bootstrap, topic)
        await traffic.windows(3, drift=0.6)  # two drifted windows close, the third stays open
        labels = {"alertname": "ModelHealthFeatureDriftCritical", "feature": FEATURE}
        alert = (await _wait(webhook, lambda: _firing(webhook, **labels), 90, "firing drift alert"))[0]
        assert {k: alert["labels"][k] for k in ("severity", "model", "contract", "check", "feature")} == {
            "severity": "critical", "model": "churn", "contract": "churn_inputs", "check": "distribution",
            "feature": FEATURE}
        assert float(alert["annotations"]["value"]) > float(alert["annotations"]["threshold"]) > 0
        assert "#runbook-" in alert["annotations"]["runbook_url"]
        # Healthy traffic again: the open drifted window closes, two healthy ones follow.
        await traffic.windows(3, drift=0.0)
        await _wait(webhook, lambda: _resolved(webhook, **labels), 90, "resolved drift alert")
        assert sidecar.metric("model_health_check_status", check="distribution", feature=FEATURE) == 0
    except BaseException:
        print("prometheus log:", prometheus.log(), "\nalertmanager log:", alertmanager.log(),
              "\nsidecar log:", sidecar.log()[-3000:])
        raise
    finally:
        prometheus.stop()
        sidecar.stop()


async def test_direct_push_and_cloudevents(tmp_path: Path, kafka_bootstrap: str, kafka_topic: Any, webhook: Webhook,
                                     alertmanager: Alertmanager) -> None:
    topic = await kafka_topic()
    alerts_topic = f"{topic}.alerts"
    sidecar = _sidecar(tmp_path, kafka_bootstrap, topic,
                       {"topic": alerts_topic, "alertmanager_url": alertmanager.url, "resend_seconds": 1})
    try:
        traffic = Traffic(kafka_bootstrap, topic)
        await traffic.windows(3, drift=0.6)
        labels = {"alertname": "ModelHealthDistribution", "source": "sidecar", "feature": FEATURE}
        alert = (await _wait(webhook, lambda: _firing(webhook, **labels), 60, "pushed drift alert"))[0]
        assert {k: alert["labels"][k] for k in ("severity", "model", "contract", "check")} == {
            "severity": "critical", "model": "churn", "contract": "churn_inputs", "check": "distribution"}
        await traffic.windows(3, drift=0.0)
        await _wait(webhook, lambda: _resolved(webhook, **labels), 60, "resolved pushed alert")
        assert sidecar.metric("model_health_alert_events_total", target="alertmanager", result="sent")
        events = await _cloudevents(kafka_bootstrap, alerts_topic, f"churn/churn_inputs/distribution/{FEATURE}")
    except BaseException:
        print("alertmanager log:", alertmanager.log(), "\nsidecar log:", sidecar.log()[-3000:])
        raise
    finally:
        sidecar.stop()
    states = [(e["type"], e["data"]["state"], e["data"]["status"]) for e in events]
    assert states[0] == ("io.model-health.alert.firing", "firing", "critical")
    assert states[-1][1:] == ("resolved", "healthy")
    assert all(e["specversion"] == "1.0" and e["source"] == "/model-health-sidecar/churn" for e in events)


async def _cloudevents(bootstrap: str, topic: str, subject: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The events of one series on the alerts topic, waiting until its resolution is there."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    assert r.key == subject.encode() or json.loads(r.value)["subject"] != subject
                    assert dict(r.headers)["content-type"].startswith(b"application/cloudevents+json")
                    doc = json.loads(r.value)
                    if doc["subject"] == subject:
                        found.append(doc)
            if found and found[-1]["data"]["state"] == "resolved":
                return found
    finally:
        await consumer.stop()
    raise AssertionError(f"no resolution of {subject} on {topic} within {timeout}s; got {found}")
