"""The real ``sidecar run`` against the real local Kafka broker."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from sidecar_proc import SidecarProcess
from traffic import T0, check_values, make_contract, produce, record_messages, sidecar_config

from sidecar import ValidationReport
from sidecar.demo.data import churn_frame
from sidecar.store.reports import JsonlReportStore

pytestmark = [pytest.mark.kafka, pytest.mark.integration, pytest.mark.timeout(180)]


def _reports(store: Path) -> list[ValidationReport]:
    return JsonlReportStore(store).read("churn", "churn_inputs")


def _assert_metrics_match(proc: SidecarProcess, expected: dict[tuple[str, str], float | None]) -> None:
    for (check, feature), value in expected.items():
        if check == "row_count" or value is None:
            continue
        got = proc.metric("model_health_check_value", check=check, feature=feature)
        assert got == pytest.approx(value, rel=1e-9, abs=1e-12), (check, feature, got, value)


async def test_stream_values_equal_batch_validation(tmp_path: Path, kafka_bootstrap: str, kafka_topic) -> None:
    topic = await kafka_topic()
    contract = make_contract(tmp_path / "contracts")
    drifted = churn_frame(2000, seed=7, drift=0.5)
    await produce(kafka_bootstrap, topic, [*record_messages(drifted, T0), *record_messages(drifted[:1], T0 + 600)])
    proc = SidecarProcess(tmp_path, sidecar_config(kafka_bootstrap, topic, tmp_path / "contracts", tmp_path / "r"))
    try:
        proc.start()
        proc.wait_for(lambda: proc.metric("model_health_window_end_timestamp_seconds") == T0 + 60, what="window")
        assert proc.metric("model_health_window_rows") == 2000
        expected = check_values(contract.validate(drifted))
        _assert_metrics_match(proc, expected)
        assert proc.metric("model_health_check_status", check="distribution", feature="monthly_spend") == 2
        assert proc.metric("model_health_feature_drift_score", feature="tenure_months", method="psi") == pytest.approx(
            expected[("distribution", "tenure_months")])
        assert proc.metric("model_health_records_total", result="ok") == 2001
    finally:
        proc.stop()


async def test_kill_9_mid_window_rebuilds_the_window_exactly(tmp_path: Path, kafka_bootstrap: str,
                                                             kafka_topic) -> None:
    topic = await kafka_topic()
    contract = make_contract(tmp_path / "contracts")
    w0 = churn_frame(500, seed=11)
    w1 = churn_frame(1500, seed=12, drift=0.4)
    first = w1.iloc[:700]
    await produce(kafka_bootstrap, topic, [*record_messages(w0, T0, 0.1), *record_messages(first, T0 + 60, 0.02)])
    store = tmp_path / "reports"
    cfg = sidecar_config(kafka_bootstrap, topic, tmp_path / "contracts", store)
    proc = SidecarProcess(tmp_path, cfg, name="crashy")
    try:
        proc.start()
        # W0 closes (and is committed) once W1's rows pass its end; W1 is then half full.
        proc.wait_for(lambda: proc.metric("model_health_window_end_timestamp_seconds") == T0 + 60, what="W0")
        try:
            proc.wait_for(lambda: any(w["rows"] == 700 for s in proc.status()["streams"] for w in s["open_windows"]),
                          what="700 rows in the open window", timeout=10)
        except TimeoutError:
            print("STATUS", proc.status())
            raise
        proc.kill9()
        await produce(kafka_bootstrap, topic, _rest_of_w1(w0, w1))
        proc.start()
        proc.wait_for(lambda: proc.metric("model_health_window_end_timestamp_seconds") == T0 + 120, what="W1")
    finally:
        proc.stop()
    reports = _assert_w1_exact(store, contract, w1)
    # An uninterrupted run over the same topic (another group) gives the same window, bin by bin.
    clean = SidecarProcess(tmp_path, {**cfg, "kafka": {**cfg["kafka"], "group_id": f"clean-{topic}"},
                                      "store": {"path": str(tmp_path / "clean")}}, name="clean")
    try:
        clean.start()
        clean.wait_for(lambda: clean.metric("model_health_window_end_timestamp_seconds") == T0 + 120, what="clean")
    finally:
        clean.stop()
    uninterrupted = {r.window_start.timestamp(): r for r in _reports(tmp_path / "clean")}[T0 + 60]
    got = {(r.check, r.column): r.details.get("current") for r in reports[T0 + 60].results if r.check == "distribution"}
    want = {(r.check, r.column): r.details.get("current") for r in uninterrupted.results if r.check == "distribution"}
    assert got == want and uninterrupted.row_count["actual"] == 1500



async def test_a_killed_ingest_worker_is_replaced_and_its_window_rebuilt(tmp_path: Path, kafka_bootstrap: str,
                                                                      kafka_topic) -> None:
    topic = await kafka_topic()
    contract = make_contract(tmp_path / "contracts")
    w0, w1 = churn_frame(500, seed=11), churn_frame(1500, seed=12, drift=0.4)
    first = [*record_messages(w0, T0, 0.1), *record_messages(w1.iloc[:700], T0 + 60, 0.02)]
    await produce(kafka_bootstrap, topic, first)
    store = tmp_path / "reports"
    proc = SidecarProcess(tmp_path, sidecar_config(kafka_bootstrap, topic, tmp_path / "contracts", store),
                          name="worker-killed")
    try:
        proc.start()
        proc.wait_for(lambda: any(w["rows"] == 700 for s in proc.status()["streams"] for w in s["open_windows"]),
                      what="700 rows in the open window")
        (worker,) = proc.children()
        os.kill(worker, signal.SIGKILL)
        proc.wait_for(lambda: proc.metric("model_health_ingest_worker_restarts_total") == 1, what="a restart")
        await produce(kafka_bootstrap, topic, _rest_of_w1(w0, w1))
        proc.wait_for(lambda: proc.metric("model_health_window_end_timestamp_seconds") == T0 + 120, what="W1")
        assert proc.proc is not None and proc.proc.poll() is None  # the sidecar itself never went down
    finally:
        proc.stop()
    _assert_w1_exact(store, contract, w1)


def _rest_of_w1(w0, w1) -> list[bytes]:
    """W1's last 800 rows, then one row far ahead that closes it."""
    return [*record_messages(w1.iloc[700:], T0 + 60 + 700 * 0.02, 0.02, prefix="s"),
            *record_messages(w0[:1], T0 + 1000, prefix="x")]


def _assert_w1_exact(store: Path, contract, w1) -> dict[float, ValidationReport]:
    """Each window reported once, W1 with all 1,500 rows and the values batch validation gives."""
    reports = {r.window_start.timestamp(): r for r in _reports(store)}
    assert [r.window_start.timestamp() for r in _reports(store)] == [T0, T0 + 60]  # none twice
    assert reports[T0 + 60].row_count["actual"] == 1500
    # row_count is information in both (no expected count is configured): a window is not a batch's size.
    batch = {k: v for k, v in check_values(contract.validate(w1)).items() if k[0] != "row_count"}
    stream = {k: v for k, v in check_values(reports[T0 + 60]).items() if k[0] != "row_count"}
    assert stream == pytest.approx(batch)
    return reports


async def test_bad_records_go_to_the_dead_letter_topic(tmp_path: Path, kafka_bootstrap: str, kafka_topic) -> None:
    topic = await kafka_topic()
    make_contract(tmp_path / "contracts")
    good = record_messages(churn_frame(300, seed=3), T0)
    valid_row = orjson.loads(good[0])["values"]
    bad: list[bytes | None] = [
        b"{not json",
        b"",
        None,
        orjson.dumps({"request_id": "t", "timestamp": T0, "values": {**valid_row, "age": "old"}}),
        b'{"request_id": "h", "timestamp": 1800000000, "values": {"age": 1e999}}',
        orjson.dumps({"request_id": "s", "timestamp": T0, "values": [1, 2, 3]}),
        orjson.dumps([1, 2, 3]),
    ]
    mixed = [*good[:100], *bad[:4], *good[100:200], *bad[4:], *good[200:]]
    await produce(kafka_bootstrap, topic, mixed)
    proc = SidecarProcess(tmp_path, sidecar_config(kafka_bootstrap, topic, tmp_path / "contracts", tmp_path / "r"))
    try:
        proc.start()
        proc.wait_for(lambda: proc.metric("model_health_records_total", result="ok") == 300, what="good records")
        proc.wait_for(lambda: proc.metric("model_health_records_total", result="dead_lettered") == len(bad),
                      what="dead letters")
        assert proc.status()["streams"][0]["open_windows"][0]["rows"] == 300
        assert proc.terminate()[0] == 0  # a clean stop flushes the dead-letter sends before committing
    finally:
        proc.stop()
    consumer = AIOKafkaConsumer(f"{topic}.dlq", bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                                group_id=None)
    await consumer.start()
    try:
        got = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(got) < len(bad) and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                got += records
    finally:
        await consumer.stop()
    assert sorted((r.value or b"") for r in got) == sorted((v or b"") for v in bad)
    for r in got:
        headers = dict(r.headers)
        assert headers["__connect.errors.topic"] == topic.encode()
        assert headers["__connect.errors.exception.message"]
        assert headers["__connect.errors.exception.class.name"]
    reasons = {dict(r.headers)["__connect.errors.exception.class.name"] for r in got}
    assert {b"InvalidJSON", b"EmptyBody", b"TypeMismatch"} <= reasons


async def test_sigterm_closes_partial_window_commits_and_exits(tmp_path: Path, kafka_bootstrap: str,
                                                               kafka_topic) -> None:
    topic = await kafka_topic()
    contract = make_contract(tmp_path / "contracts")
    store = tmp_path / "reports"
    cfg = sidecar_config(kafka_bootstrap, topic, tmp_path / "contracts", store)
    proc = SidecarProcess(tmp_path, cfg)
    try:
        proc.start()
        # Every check's series exists from start-up, at 0: the table-level schema check (feature "") once,
        # and each feature's checks where the contract runs them (no distribution check on the id column).
        assert proc.metric("model_health_check_status", check="schema", feature="*") == 0.0
        for feature in contract.columns:
            distribution = 0.0 if feature in contract.settings["distribution"] else None
            assert proc.metric("model_health_check_status", check="distribution", feature=feature) == distribution
            assert proc.metric("model_health_check_status", check="special_values", feature=feature) == 0.0
        rows = churn_frame(300, seed=5)
        await produce(kafka_bootstrap, topic, record_messages(rows, T0))
        proc.wait_for(lambda: proc.metric("model_health_records_total", result="ok") == 300, what="consumed")
        code, seconds = proc.terminate()
    finally:
        proc.stop()
    assert code == 0 and seconds < 10
    (report,) = _reports(store)
    assert report.partial and report.row_count["actual"] == 300
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(cfg["kafka"]["group_id"])
    finally:
        await admin.close()
    assert sum(om.offset for om in offsets.values()) == 300
