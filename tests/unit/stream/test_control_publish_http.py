"""Events for the control room over HTTP: the sidecar's sender task (retry, backoff, bounded backlog, refusals
counted), ``report.publish`` and ``sidecar validate --publish`` (clear errors), ``track_production_metrics``
with a control room, and the joiner's metric events. The control room is a scripted HTTP server on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from sidecar import DataContract, ValidationReport, track_production_metrics
from sidecar.alerts.backoff import Backoff
from sidecar.cli import main
from sidecar.config import Settings
from sidecar.decoders import RawMessage
from sidecar.demo.data import churn_frame
from sidecar.errors import PublishError
from sidecar.join.exporter import metric_events
from sidecar.join.windows import WindowResult
from sidecar.metrics import ModelMetrics, SidecarMetrics
from sidecar.report.event import ReportEvent
from sidecar.store.base import MetricEvent
from sidecar.stream.control import event_counter, report_letter
from sidecar.stream.service import SidecarService
from sidecar.stream.sink import EventSink, HttpTarget

pytestmark = pytest.mark.timeout(60)

T0 = 1_800_000_000


class ControlRoom:
    """Answers POSTs with the statuses queued in ``answers`` (then 201), recording path, headers and body."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.stored: set[str] = set()
        room = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                room.requests.append((self.path, dict(self.headers), body))
                status, answer = room.answers.pop(0) if room.answers else (201, {})
                if status == 201:
                    key = json.loads(body).get("id") or "points"
                    status, answer = (200 if key in room.stored else 201), {"id": key}
                    room.stored.add(key)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(b) for p, _, b in self.requests if p == path]


@pytest.fixture
def room() -> Iterator[ControlRoom]:
    r = ControlRoom()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _report(minute: int = 0) -> ValidationReport:
    return ValidationReport(contract="c", contract_version=1,
                            window_start=datetime.fromtimestamp(T0 + 60 * minute, tz=UTC),
                            window_end=datetime.fromtimestamp(T0 + 60 * minute + 60, tz=UTC))


async def _until(condition, what: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def _count(metrics: ModelMetrics, result: str, event: str = "report") -> float | None:
    return metrics.registry.get_sample_value("model_health_published_events_total",
                                             {"model": metrics.model, "event": event, "target": "http",
                                              "result": result})


# -- the sender task ----------------------------------------------------------------------------------------
async def test_the_sink_retries_an_overloaded_control_room_and_sends_in_order(room: ControlRoom) -> None:
    metrics = ModelMetrics("m")
    room.answers = [(503, {"error": "busy"}), (500, {})]
    sink = EventSink(HttpTarget(room.url, "tok"), event_counter(metrics, "http"), backoff=Backoff(0.01, 0.05))
    async with sink:
        for minute in range(3):
            sink.submit(report_letter("m", "p", _report(minute), "unused"))
        await _until(lambda: sink.pending == 0, "the backlog to drain")
    starts = [ReportEvent.model_validate(b).report.window_start for b in room.bodies("/api/v1/reports")]
    assert starts == [_report(0).window_start] * 3 + [_report(1).window_start, _report(2).window_start]
    assert {h["Authorization"] for _, h, _ in room.requests} == {"Bearer tok"}
    assert (_count(metrics, "sent"), _count(metrics, "failed"), _count(metrics, "dropped")) == (3, 2, 0)


async def test_a_refusal_is_dropped_counted_and_logged_once(room: ControlRoom,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    metrics = ModelMetrics("m")
    room.answers = [(401, {"error": "unknown token", "field": None})] * 3
    sink = EventSink(HttpTarget(room.url, "wrong"), event_counter(metrics, "http"), backoff=Backoff(0.01, 0.05))
    async with sink:
        for minute in range(4):
            sink.submit(report_letter("m", "p", _report(minute), "unused"))
        await _until(lambda: sink.pending == 0, "the backlog to drain")
    assert (_count(metrics, "sent"), _count(metrics, "dropped")) == (1, 3)
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and "401" in refusals[0] and "unknown token" in refusals[0]


async def test_the_backlog_is_bounded_and_stop_counts_what_is_left() -> None:
    metrics = ModelMetrics("m")
    sink = EventSink(HttpTarget("http://127.0.0.1:9", None, timeout_seconds=0.2), event_counter(metrics, "http"),
                     max_pending=2, backoff=Backoff(5.0, 5.0))
    await sink.start()
    for minute in range(5):
        sink.submit(report_letter("m", "p", _report(minute), "unused"))  # never blocks, whatever the target
    assert sink.pending == 2 and _count(metrics, "dropped") == 3
    await sink.stop(drain_seconds=0.1)
    await sink.stop()  # twice is fine
    assert _count(metrics, "dropped") == 5 and sink.pending == 0


async def test_a_sidecar_without_kafka_posts_its_windows_to_the_control_room(tmp_path: Path, room: ControlRoom) -> None:
    contract = DataContract("churn_inputs", churn_frame(500, seed=1))
    settings = Settings(model="churn", inputs={"topic": "t", "contract": "unused", "format": "flat"},
                        kafka={"bootstrap_servers": "127.0.0.1:9", "retry_backoff_seconds": 30},
                        window={"min_rows": 10, "idle_close_seconds": 1, "size_seconds": 3600},
                        ingest={"worker_process": False}, store={"path": str(tmp_path / "store")},
                        publish={"control_url": room.url, "token": "w-token", "pod": "churn-0"})
    service = SidecarService(settings, SidecarMetrics("churn"), contracts={"inputs": contract})
    df = churn_frame(150, seed=4).astype({"signup_date": str})
    rows = [RawMessage(orjson.dumps({**row, "timestamp": T0 + i}), ()) for i, row in enumerate(df.to_dict("records"))]
    async with service:
        await service.ingest_http(service.stream_for("inputs"), rows)
        await _until(lambda: room.bodies("/api/v1/reports"), "the window's report event")
    (event,) = [ReportEvent.model_validate(b) for b in room.bodies("/api/v1/reports")]
    assert (event.model, event.source, event.pod, event.report) == ("churn", "window", "churn-0",
                                                                    service.last_reports["t"])
    assert event.id == event.model_copy(update={"id": None}).report_id()
    assert room.requests[0][1]["Authorization"] == "Bearer w-token"
    assert _count(service.metrics.model_level, "sent") == 1


# -- batch code: report.publish, sidecar validate --publish, track_production_metrics -----------------------------
def test_report_publish_sends_a_batch_event_and_says_if_it_was_new(room: ControlRoom) -> None:
    report = _report()
    first = report.publish(room.url, token="t", model="churn")
    again = report.publish(room.url, token="t", model="churn")
    assert (first.created, again.created, first.id == again.id) == (True, False, True)
    (body, _) = room.bodies("/api/v1/reports")
    event = ReportEvent.model_validate(body)
    assert (event.source, event.model, event.pod, event.report) == ("batch", "churn", None, report)


@pytest.mark.parametrize(("status", "answer", "match"), [
    (401, {"error": "missing token", "field": None}, r"401: no token, or one the control room does not know.*"
                                                     r"sidecar token create --scope write.*missing token"),
    (403, {"error": "scope read", "field": None}, r"403: the token's scope is too weak.*write"),
    (413, {"error": "body too large", "field": None}, r"413: the event is larger than the control room accepts "
                                                      r"\(\d+ bytes\)"),
    (422, {"error": "must be a string", "field": "report.contract"}, r"422: .*refused the event's content; the "
                                                                     r"control room says: must be a string \(field "
                                                                     r"report.contract\)"),
])
def test_a_refusal_names_what_was_refused(room: ControlRoom, status: int, answer: dict[str, Any], match: str) -> None:
    room.answers = [(status, answer)]
    with pytest.raises(PublishError, match=match) as info:
        _report().publish(room.url, token="t", model="churn")
    assert info.value.status == status and len(room.requests) == 1  # a refusal is never retried


def test_an_unreachable_control_room_is_tried_again_then_said(room: ControlRoom) -> None:
    room.answers = [(503, {}), (503, {})]
    assert _report().publish(room.url, model="churn").created  # the third try succeeds
    with pytest.raises(PublishError, match=r"no answer .* after 3 attempts; is the control room running\?"):
        _report().publish("http://127.0.0.1:9", model="churn", timeout=0.5)


def test_validate_publish_sends_the_report(tmp_path: Path, room: ControlRoom, capsys: pytest.CaptureFixture) -> None:
    DataContract("churn_inputs", churn_frame(500, seed=1)).save(tmp_path / "contracts")
    data = tmp_path / "today.csv"
    churn_frame(300, seed=2).to_csv(data, index=False)
    code = main(["validate", "--contract", str(tmp_path / "contracts" / "churn_inputs"), "--data", str(data),
                 "--publish", room.url, "--model", "churn", "--token", "tok", "--fail-on", "critical", "--json"])
    assert code in (0, 1)
    printed = ValidationReport.from_json(capsys.readouterr().out)
    (body,) = room.bodies("/api/v1/reports")
    assert ReportEvent.model_validate(body).report == printed
    assert room.requests[0][1]["Authorization"] == "Bearer tok"
    room.answers = [(403, {"error": "needs write", "field": None})]
    code = main(["validate", "--contract", str(tmp_path / "contracts" / "churn_inputs"), "--data", str(data),
                 "--publish", room.url, "--model", "churn", "--token", "read-only"])
    assert code == 2 and "403: the token's scope is too weak" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "match"), [
    (["--publish", "http://x"], "--publish needs --model"),
    (["--model", "churn"], "--model and --token go with --publish"),
    (["--publish", "x:8080", "--model", "churn"], "not an http:// or https:// URL"),
])
def test_validate_publish_options_are_checked_first(tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str],
                                                    match: str) -> None:
    assert main(["validate", "--contract", "nowhere/c", "--data", "none.csv", *args]) == 2
    assert match in capsys.readouterr().err


def test_production_metrics_also_go_to_a_configured_control_room(tmp_path: Path, room: ControlRoom,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_PUBLISH__CONTROL_URL", room.url)
    monkeypatch.setenv("SIDECAR_PUBLISH__TOKEN", "w")
    track_production_metrics("accuracy", {"2019-08-22": 0.91, "2019-08-23": 0.9}, model="churn", store=tmp_path)
    (body,) = room.bodies("/api/v1/metrics")
    event = MetricEvent.model_validate(body)
    assert (event.model, event.metric, event.kind, [p.value for p in event.points]) == ("churn", "accuracy",
                                                                                        "realized", [0.91, 0.9])
    monkeypatch.delenv("SIDECAR_PUBLISH__CONTROL_URL")
    track_production_metrics("accuracy", {"2019-08-24": 0.8}, model="churn", store=tmp_path)
    assert len(room.requests) == 1  # no control room configured: the local store only


# -- the joiner's metric events ---------------------------------------------------------------------------------
def test_window_results_become_one_metric_event_per_metric_and_kind() -> None:
    from sidecar.performance.cbpe import Estimate

    def window(minute: int, accuracy: float) -> WindowResult:
        start = datetime.fromtimestamp(T0 + 60 * minute, tz=UTC)
        return WindowResult(start, start, 100, 90, 0, 0.9, {"accuracy": accuracy, "roc_auc": float("nan")},
                            {"p50": 2.0}, {"accuracy": Estimate(0.8, 0.7, 0.9)})

    events = {(e.metric, e.kind): e for e in metric_events("churn", [window(1, 0.93), window(0, 0.91)])}
    assert set(events) == {("accuracy", "realized"), ("accuracy", "estimated")}  # NaN left out
    assert [(p.time.timestamp(), p.value) for p in events[("accuracy", "realized")].points] == [
        (T0, 0.91), (T0 + 60, 0.93)]
    assert [p.value for p in events[("accuracy", "estimated")].points] == [0.8, 0.8]
