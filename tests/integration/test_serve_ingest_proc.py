"""The real ``sidecar serve`` ingesting from the real broker: kill -9 mid-ingest loses nothing and stores nothing
twice, and a real ``sidecar run``'s closed windows appear in serve's API (over Kafka by default, and over HTTP
with ``publish.control_url`` and a token)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml
from sidecar_proc import SIDECAR, SidecarProcess, free_port, get
from test_serve_ingest import committed, produce, report_event
from traffic import T0, make_contract, record_messages, sidecar_config
from traffic import produce as produce_rows

from sidecar.demo.data import churn_frame
from sidecar.report.event import ReportEvent
from sidecar.report.model import ValidationReport
from sidecar.store.reports import JsonlReportStore

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]


class ServeProcess:
    """``sidecar serve --config <file>`` on a free loopback port, its store a SQLite file; stopped by the test."""

    def __init__(self, tmp: Path, config: dict[str, Any], name: str = "serve") -> None:
        self.port = free_port()
        self.database = tmp / f"{name}.sqlite"
        self.config = {"store": {"url": f"sqlite:///{self.database}"}, "auth": {"anonymous_read": True}, **config,
                       "http": {"host": "127.0.0.1", "port": self.port}}
        self.config_path = tmp / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump(self.config))
        self.log_path = tmp / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}

    def start(self, timeout: float = 60.0) -> ServeProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
        self.proc = subprocess.Popen([str(SIDECAR), "serve", "--config", str(self.config_path)], stdout=log,
                                     stderr=subprocess.STDOUT, env=self._env())
        self.wait_for(lambda: self._ready(), timeout, "serve's /readyz")
        return self

    def _ready(self) -> bool:
        try:
            return get(self.url + "/readyz", timeout=1)[0] == 200
        except OSError:
            return False

    def token(self, scope: str) -> str:
        out = subprocess.run([str(SIDECAR), "token", "create", "--config", str(self.config_path), "--scope", scope],
                             capture_output=True, text=True, env=self._env(), timeout=60, check=True)
        return out.stdout.strip().splitlines()[-1]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for(self, predicate: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"serve exited {self.proc.returncode} waiting for {what}:\n{self.log()}")
            time.sleep(0.02)
        raise TimeoutError(f"timed out waiting for {what}:\n{self.log()[-4000:]}")

    def stored(self) -> int:
        """Rows in the reports table, read beside the running server (WAL: readers never wait)."""
        if not self.database.exists():
            return 0
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5) as db:
            try:
                return int(db.execute("SELECT count(*) FROM reports").fetchone()[0])
            except sqlite3.OperationalError:  # the schema is not created yet
                return 0

    def api(self, path: str, **params: Any) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        status, body = get(f"{self.url}/api/v1{path}" + (f"?{query}" if query else ""))
        assert status == 200, (status, body)
        return json.loads(body)

    def report_ids(self, model: str) -> list[str]:
        """Every report id of ``model``, walking GET /reports page by page."""
        ids: list[str] = []
        cursor = None
        while True:
            page = self.api("/reports", model=model, limit=500, cursor=cursor)
            ids += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return ids

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def serve_kafka(bootstrap: str, reports: str, metrics: str) -> dict[str, Any]:
    return {"kafka": {"bootstrap_servers": bootstrap, "group_id": f"serve-{reports}", "reports_topic": reports,
                      "metrics_topic": metrics, "fetch_max_wait_ms": 50}}


async def test_kill_9_mid_ingest_stores_every_report_exactly_once(tmp_path: Path, kafka_bootstrap: str,
                                                                  kafka_topic) -> None:
    reports, metrics = await kafka_topic(partitions=3), await kafka_topic()
    n = 3000
    events = [report_event(i, pod=f"pod-{i % 7}") for i in range(n)]
    await produce(kafka_bootstrap, reports, [e.model_dump_json().encode() for e in events])
    serve = ServeProcess(tmp_path, serve_kafka(kafka_bootstrap, reports, metrics))
    try:
        await asyncio.to_thread(serve.start)
        await asyncio.to_thread(serve.wait_for, lambda: serve.stored() > 0, 60, "the first stored reports")
        serve.kill9()
        at_kill = serve.stored()
        assert 0 < at_kill < n, f"{at_kill} of {n} stored at kill -9: the fault must land mid-ingest"
        await asyncio.to_thread(serve.start)
        await asyncio.to_thread(serve.wait_for, lambda: serve.stored() == n, 120, "every report stored")
        group = f"serve-{reports}"

        async def offsets() -> int:
            admin_total = 0
            for partition in range(3):
                admin_total += await _committed_on(kafka_bootstrap, group, reports, partition)
            return admin_total

        deadline = time.monotonic() + 60
        while await offsets() != n:
            assert time.monotonic() < deadline, "the offsets were not committed past every record"
            await asyncio.sleep(0.2)
        ids = await asyncio.to_thread(serve.report_ids, "churn")
        assert len(ids) == n and set(ids) == {e.report_id() for e in events}  # each once, none lost
        assert serve.terminate() == 0
    finally:
        serve.stop()


async def _committed_on(bootstrap: str, group: str, topic: str, partition: int) -> int:
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    meta = offsets.get(TopicPartition(topic, partition))
    return 0 if meta is None or meta.offset < 0 else meta.offset


def _window_traffic() -> list[bytes]:
    """Two full one-minute windows, then a record that moves the stream's time past both."""
    df = churn_frame(400, seed=3)
    return [*record_messages(df.iloc[:200], T0, step=0.25), *record_messages(df.iloc[200:], T0 + 60, step=0.25,
                                                                             prefix="s"),
            *record_messages(df.iloc[:1], T0 + 200, prefix="t")]


async def _windows_in_serve(tmp_path: Path, kafka_bootstrap: str, kafka_topic, publish: dict[str, Any],
                            serve: ServeProcess) -> None:
    topic = await kafka_topic()
    make_contract(tmp_path / "contracts")
    store = tmp_path / "sidecar-store"
    sidecar = SidecarProcess(tmp_path, {**sidecar_config(kafka_bootstrap, topic, tmp_path / "contracts", store),
                                        "publish": publish})
    try:
        await asyncio.to_thread(sidecar.start)
        await produce_rows(kafka_bootstrap, topic, _window_traffic())
        local = JsonlReportStore(store)
        await asyncio.to_thread(sidecar.wait_for, lambda: len(local.read("churn", "churn_inputs")) == 2, 90,
                                "two closed windows")

        def listed() -> list[dict[str, Any]]:
            return serve.api("/reports", model="churn")["items"]

        items = await asyncio.to_thread(serve.wait_for, lambda: len(listed()) == 2 and listed(), 60,
                                        "both windows in serve's API")
        windows = local.read("churn", "churn_inputs")
        expected = {ReportEvent(model="churn", source="window", pod="churn-pod-a", report=r).report_id(): r
                    for r in windows}
        assert {i["id"] for i in items} == set(expected)
        for item in items:
            assert (item["source"], item["pod"], item["contract"]) == ("window", "churn-pod-a", "churn_inputs")
            detail = serve.api(f"/reports/{item['id']}")
            assert ValidationReport.model_validate(detail["report"]) == expected[item["id"]]
        assert sidecar.metric("model_health_published_events_total", event="report", result="sent") == 2
    finally:
        sidecar.stop()


async def test_a_real_sidecars_windows_appear_in_serves_api_over_kafka(tmp_path: Path, kafka_bootstrap: str,
                                                                       kafka_topic) -> None:
    reports, metrics = await kafka_topic(), await kafka_topic()
    serve = ServeProcess(tmp_path, serve_kafka(kafka_bootstrap, reports, metrics))
    try:
        await asyncio.to_thread(serve.start)
        await _windows_in_serve(tmp_path, kafka_bootstrap, kafka_topic,
                                {"reports_topic": reports, "pod": "churn-pod-a"}, serve)
        assert await committed(kafka_bootstrap, f"serve-{reports}", reports) == 2
    finally:
        serve.stop()


async def test_a_real_sidecars_windows_appear_in_serves_api_over_http(tmp_path: Path, kafka_bootstrap: str,
                                                                      kafka_topic) -> None:
    serve = ServeProcess(tmp_path, {})  # no Kafka for the control room: reports arrive over HTTP only
    try:
        await asyncio.to_thread(serve.start)
        token = await asyncio.to_thread(serve.token, "write")
        await _windows_in_serve(tmp_path, kafka_bootstrap, kafka_topic,
                                {"control_url": serve.url, "token": token, "pod": "churn-pod-a"}, serve)
    finally:
        serve.stop()
