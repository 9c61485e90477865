"""KServe's payload logger path: CloudEvents over HTTP into the real ``sidecar run``, no Kafka needed."""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd
import pytest
from sidecar_proc import SidecarProcess, free_port, post
from traffic import T0, check_values, make_contract, produce, record_messages, row_values, sidecar_config

from sidecar.demo.data import churn_frame
from sidecar.store import JsonlReportStore

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

_DATATYPE = {"float64": "FP64", "int64": "INT64"}


def v2_request(df: pd.DataFrame, request_id: str) -> bytes:
    """An Open Inference Protocol (KServe V2) request body: one 1-D tensor per feature."""
    rows = row_values(df)
    inputs = [{"name": col, "shape": [len(rows)], "datatype": _DATATYPE.get(str(df[col].dtype), "BYTES"),
               "data": [r[col] for r in rows]} for col in df.columns]
    return orjson.dumps({"id": request_id, "inputs": inputs})


def ce_headers(request_id: str, when: str) -> dict[str, str]:
    """KServe payload logger headers (binary-mode CloudEvents)."""
    return {"Ce-Specversion": "1.0", "Ce-Id": request_id, "Ce-Source": "http://localhost:9081/",
            "Ce-Type": "org.kubeflow.serving.inference.request", "Ce-Time": when,
            "Ce-Inferenceservicename": "churn", "Ce-Endpoint": "default", "Content-Type": "application/json"}


def test_kserve_cloudevents_give_the_same_results_as_batch(tmp_path: Path) -> None:
    contract = make_contract(tmp_path / "contracts")
    drifted = churn_frame(2000, seed=7, drift=0.5)
    cfg = sidecar_config(f"127.0.0.1:{free_port()}", "churn.inputs", tmp_path / "contracts", tmp_path / "r")
    cfg["kafka"]["retry_backoff_seconds"] = 0.5
    proc = SidecarProcess(tmp_path, cfg)
    try:
        proc.start()  # ready although nothing listens on the Kafka port
        window_time = pd.Timestamp(T0 + 10, unit="s", tz="UTC").isoformat().replace("+00:00", "Z")
        for i in range(0, len(drifted), 100):
            status, body = post(proc.url + "/v1/events", v2_request(drifted.iloc[i:i + 100], f"req-{i}"),
                                ce_headers(f"req-{i}", window_time))
            assert status == 202 and body["accepted_rows"] == 100, body
        later = pd.Timestamp(T0 + 600, unit="s", tz="UTC").isoformat().replace("+00:00", "Z")
        post(proc.url + "/v1/events", v2_request(drifted.iloc[:1], "closer"), ce_headers("closer", later))
        proc.wait_for(lambda: proc.metric("model_health_window_end_timestamp_seconds") == T0 + 60, what="window")
        assert proc.metric("model_health_window_rows") == 2000
        for (check, feature), value in check_values(contract.validate(drifted)).items():
            if check == "row_count" or value is None:
                continue
            got = proc.metric("model_health_check_value", check=check, feature=feature)
            assert got == pytest.approx(value, rel=1e-9, abs=1e-12), (check, feature)
        assert proc.metric("model_health_kafka_up") == 0
        status, body = post(proc.url + "/v1/events", b"{broken", ce_headers("bad", later))
        assert status == 400 and body["errors"][0]["error_class"] == "InvalidJSON"
    finally:
        proc.stop()


@pytest.mark.kafka
async def test_http_part_of_a_window_is_reported_with_its_kafka_part_while_http_is_quiet(
        tmp_path: Path, kafka_bootstrap: str, kafka_topic) -> None:
    # Kafka keeps flowing, HTTP posts 120 rows of the first window and goes quiet: the window closes on Kafka's
    # watermark with its HTTP rows in the same report (they used to wait for HTTP's own time or for shutdown).
    topic = await kafka_topic()
    make_contract(tmp_path / "contracts")
    cfg = sidecar_config(kafka_bootstrap, topic, tmp_path / "contracts", tmp_path / "r")
    proc = SidecarProcess(tmp_path, cfg)
    try:
        proc.start()
        posted = churn_frame(120, seed=11)
        when = pd.Timestamp(T0 + 10, unit="s", tz="UTC").isoformat().replace("+00:00", "Z")
        status, body = post(proc.url + "/v1/events", v2_request(posted, "http-0"), ce_headers("http-0", when))
        assert status == 202 and body["accepted_rows"] == 120, body
        kafka_rows = churn_frame(200, seed=12)
        await produce(kafka_bootstrap, topic, record_messages(kafka_rows, T0 + 20, 0.1))
        await produce(kafka_bootstrap, topic, record_messages(kafka_rows[:1], T0 + 70, prefix="next"))
        proc.wait_for(lambda: proc.metric("model_health_window_end_timestamp_seconds") == T0 + 60,
                      what="the first window to close on Kafka's watermark")
        assert proc.metric("model_health_window_rows") == 320
        reports = JsonlReportStore(tmp_path / "r").read("churn", "churn_inputs")
        first = [r for r in reports if r.window_start is not None and r.window_start.timestamp() == T0]
        assert [r.row_count["actual"] for r in first] == [320]  # one report for the window, both parts in it
        assert not first[0].partial
    finally:
        proc.stop()
