"""The REST API against the real app and the real SQL store, on SQLite and on PostgreSQL (``store_url``): reports
in and out exactly, filters, keyset pages, models, series, production metrics, contracts, and every refusal
in its shape. The server listens on 127.0.0.1 and a free port; each test stops it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pandas as pd
import pytest
from serve_client import T0, Api, control_room, report_event

from sidecar import DataContract
from sidecar.report.event import ReportEvent
from sidecar.report.model import CheckResult, ValidationReport

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def api(store_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with control_room(store={"url": store_url}, contracts={"path": str(tmp_path / "contracts")},
                            limits={"max_body_bytes": 64 * 1024}) as running:
        yield running


def body(event: ReportEvent) -> dict[str, Any]:
    return json.loads(event.model_dump_json())


async def walk(api: Api, **filters: Any) -> list[str]:
    """Every id of a listing, page by page."""
    ids: list[str] = []
    cursor = None
    while True:
        params = {**filters, **({"cursor": cursor} if cursor else {})}
        status, page = await api.get("/reports", **params)
        assert status == 200, page
        ids += [h["id"] for h in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def test_a_report_comes_back_exactly_as_it_was_sent(api: Api) -> None:
    event = report_event(3, status="critical", monitor=None)
    status, stored = await api.post("/reports", body(event))
    assert (status, stored) == (201, {"id": event.report_id()})
    status, detail = await api.get(f"/reports/{stored['id']}")
    assert status == 200
    assert detail["report"] == json.loads(event.report.to_json())
    assert ValidationReport.model_validate(detail["report"]) == event.report
    header = {k: v for k, v in detail.items() if k != "report"}
    assert header == {
        "id": event.report_id(), "model": "churn", "contract": "churn_inputs", "contract_version": 1,
        "source": "window", "pod": "churn-0", "monitor": None,
        "time": detail["window_end"], "window_start": "2026-03-01T00:15:00Z", "window_end": "2026-03-01T00:20:00Z",
        "created_at": detail["created_at"], "partial": False, "status": "critical",
        "row_count": {"expected": 1000, "actual": 1003, "change": 0.003},
        "counts": {"healthy": 1, "warning": 0, "critical": 1},
    }


async def test_the_same_report_again_is_200_with_the_same_id(api: Api) -> None:
    event = report_event(0)
    first = await api.post("/reports", body(event))
    again = await api.post("/reports", body(event))
    assert first == (201, {"id": event.report_id()}) and again == (200, {"id": event.report_id()})
    chosen = body(event.model_copy(update={"id": "client-chosen:1"}))
    assert await api.post("/reports", chosen) == (201, {"id": "client-chosen:1"})
    assert await api.post("/reports", chosen) == (200, {"id": "client-chosen:1"})
    assert sorted(await walk(api)) == sorted([event.report_id(), "client-chosen:1"])
    resp = await api.client.post("/api/v1/reports", json=chosen, headers=api.auth("write"))
    assert unquote(resp.headers["Location"]) == "/api/v1/reports/client-chosen:1"


async def test_filters_narrow_the_listing_newest_first(api: Api) -> None:
    events = [report_event(i, model="churn" if i % 2 else "fraud", status=["healthy", "warning", "critical"][i % 3],
                           source="window" if i < 6 else "batch", monitor="nightly" if i == 7 else None)
              for i in range(9)]
    await api.store.put_reports(events)
    ids = {i: e.report_id() for i, e in enumerate(events)}
    assert await walk(api) == [ids[i] for i in reversed(range(9))]
    assert await walk(api, model="churn") == [ids[i] for i in (7, 5, 3, 1)]
    assert await walk(api, model="churn", status="critical") == [ids[5]]
    assert await walk(api, source="batch") == [ids[8], ids[7], ids[6]]
    assert await walk(api, monitor="nightly") == [ids[7]]
    assert await walk(api, contract="other") == []
    since, until = T0 + timedelta(minutes=15), T0 + timedelta(minutes=30)  # window ends at 5, 10, ... 45 min
    assert await walk(api, since=since.isoformat(), until=until.isoformat()) == [ids[4], ids[3], ids[2]]


async def test_walking_every_page_while_reports_arrive_yields_each_old_report_once(api: Api) -> None:
    old = [report_event(i) for i in range(23)]
    await api.store.put_reports(old)
    seen: list[str] = []
    cursor = None
    newer = 100
    while True:
        status, page = await api.get("/reports", limit=4, **({"cursor": cursor} if cursor else {}))
        assert status == 200 and len(page["items"]) <= 4
        seen += [h["id"] for h in page["items"]]
        # Reports keep arriving: a newer window (before every page read) and an older one (after them all).
        await api.post("/reports", body(report_event(newer)))
        await api.post("/reports", body(report_event(-newer)))
        newer += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) >= {e.report_id() for e in old}
    assert [s for s in seen if s in {e.report_id() for e in old}] == [e.report_id() for e in reversed(old)]


async def test_a_model_named_script_is_stored_and_returned_as_json_text(api: Api) -> None:
    name = "<script>alert('x')</script>"
    event = ReportEvent(model=name, report=ValidationReport(
        contract="c", results=[CheckResult(check="domain", column="<img src=x onerror=alert(1)>", status="warning")]))
    status, stored = await api.post("/reports", body(event))
    assert status == 201
    resp = await api.client.get(f"/api/v1/reports/{stored['id']}", headers=api.auth("read"))
    assert resp.content_type == "application/json" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    detail = await resp.json()
    assert detail["model"] == name and detail["report"]["results"][0]["column"] == "<img src=x onerror=alert(1)>"
    assert await walk(api, model=name) == [stored["id"]]
    status, models = await api.get("/models")
    assert [m["model"] for m in models["models"]] == [name]


@pytest.mark.parametrize("value", ["churn' OR '1'='1", "churn; DROP TABLE reports;--", '"churn"', "%", "_", "\\",
                                   "churn' --", "1) OR (1=1"])
async def test_filter_values_are_bound_parameters(api: Api, value: str) -> None:
    plain, odd = report_event(0), report_event(1, model=value)
    await api.store.put_reports([plain, odd])
    for field in ("model", "contract", "monitor"):
        expected = [odd.report_id()] if field == "model" else []
        assert await walk(api, **{field: value}) == expected
    status, series = await api.get("/series", model=value, contract="churn_inputs", check=value, column=value)
    assert (status, series) == (200, {"points": []})
    status, metrics = await api.get("/metrics", model=value, metric=value)
    assert (status, metrics) == (200, {"series": []})
    assert sorted(await walk(api)) == sorted([plain.report_id(), odd.report_id()])  # every table still there


async def test_models_show_the_worst_current_status_and_each_contracts_newest(api: Api) -> None:
    a = report_event(0, contract="inputs", status="critical")
    b = report_event(1, contract="inputs", status="healthy")
    c = report_event(0, contract="predictions", status="warning")
    await api.store.put_reports([a, b, c])
    status, answer = await api.get("/models")
    assert status == 200
    [model] = answer["models"]
    assert (model["model"], model["status"]) == ("churn", "warning")
    assert [(x["contract"], x["status"], x["id"]) for x in model["contracts"]] == [
        ("inputs", "healthy", b.report_id()), ("predictions", "warning", c.report_id())]


async def test_series_are_oldest_first_per_check_and_column(api: Api) -> None:
    events = [report_event(i) for i in range(5)]
    await api.store.put_reports(list(reversed(events)))
    status, answer = await api.get("/series", model="churn", contract="churn_inputs", check="distribution",
                                   column="age")
    assert status == 200
    assert [p["report_id"] for p in answer["points"]] == [e.report_id() for e in events]
    assert [p["value"] for p in answer["points"]] == pytest.approx([0.0, 0.01, 0.02, 0.03, 0.04])
    status, table = await api.get("/series", model="churn", contract="churn_inputs", check="row_count")
    assert status == 200 and len(table["points"]) == 5
    status, later = await api.get("/series", model="churn", contract="churn_inputs", check="row_count",
                                  since=(T0 + timedelta(minutes=15)).isoformat())
    assert len(later["points"]) == 3  # windows end at 15, 20 and 25 minutes; since is inclusive


async def test_metric_points_are_upserted_by_time(api: Api) -> None:
    points = [{"time": f"2026-03-01T0{h}:00:00Z", "value": 0.9 - h / 100} for h in range(3)]
    event = {"model": "churn", "metric": "accuracy", "kind": "realized", "points": points}
    assert await api.post("/metrics", event) == (200, {"written": 3})
    assert await api.post("/metrics", event) == (200, {"written": 3})
    changed = {**event, "points": [{"time": "2026-03-01T01:00:00+00:00", "value": 0.5}]}
    assert await api.post("/metrics", changed) == (200, {"written": 1})
    await api.post("/metrics", {"model": "churn", "metric": "accuracy", "kind": "estimated", "points": points[:1]})
    status, answer = await api.get("/metrics", model="churn", kind="realized")
    assert status == 200
    assert answer["series"] == [{"model": "churn", "metric": "accuracy", "kind": "realized", "points": [
        {"time": "2026-03-01T00:00:00Z", "value": 0.9}, {"time": "2026-03-01T01:00:00Z", "value": 0.5},
        {"time": "2026-03-01T02:00:00Z", "value": 0.88}]}]
    status, both = await api.get("/metrics", model="churn")
    assert sorted(s["kind"] for s in both["series"]) == ["estimated", "realized"]


async def test_contracts_list_names_versions_and_hashes(api: Api, tmp_path: Path, reference: pd.DataFrame) -> None:
    assert await api.get("/contracts") == (200, {"contracts": []})
    path = DataContract("churn_inputs", reference.head(400)).save(tmp_path / "contracts")
    sha = json.loads(Path(path).read_text())["sha256"]
    status, answer = await api.get("/contracts")
    assert status == 200
    [entry] = answer["contracts"]
    assert (entry["name"], entry["latest_version"]) == ("churn_inputs", 1)
    assert entry["versions"][0]["sha256"] == sha and entry["versions"][0]["error"] is None
    assert await api.get("/contracts/churn_inputs") == (200, entry)
    status, missing = await api.get("/contracts/fraud")
    assert (status, missing["field"]) == (404, "name")


async def test_unknown_ids_are_404(api: Api) -> None:
    for report_id in ("nope", "a" * 200, "bad%20id"):
        status, answer = await api.get(f"/reports/{report_id}")
        assert (status, answer["field"]) == (404, "id")


@pytest.mark.parametrize(("data", "status", "field"), [
    (b"{not json", 400, None),
    (b"", 400, None),
    (b"[1, 2]", 422, None),
    (b'{"model": "churn"}', 422, "report"),
    (b'{"model": "churn", "report": {"contract": "c"}, "extra": 1}', 422, "extra"),
    (b'{"model": "churn", "report": {"contract": "c", "results": [{"check": "x", "column": null, "status": "ok"}]}}',
     422, "report.results.0.status"),
    (b'{"model": "churn", "source": "pod", "report": {"contract": "c"}}', 422, "source"),
    (b'{"id": "has space", "model": "churn", "report": {"contract": "c"}}', 422, "id"),
])
async def test_a_bad_report_body_is_refused_naming_the_field(api: Api, data: bytes, status: int,
                                                            field: str | None) -> None:
    resp = await api.client.post("/api/v1/reports", data=data, headers=api.auth("write"))
    answer = await resp.json()
    assert (resp.status, answer["field"]) == (status, field), answer
    assert set(answer) == {"error", "field"} and answer["error"]


async def test_what_the_database_cannot_hold_is_422_not_500(api: Api) -> None:
    for event, field in [
        ({"model": "churn", "report": {"contract": "c" * 201}}, "report.contract"),
        ({"model": "ch\u0000urn", "report": {"contract": "c"}}, "model"),
        ({"model": "churn", "report": {"contract": "c", "contract_version": 2**40}}, "report.contract_version"),
        ({"model": "churn", "report": {"contract": "c", "row_count": {"expected": 2**70, "actual": 1, "change": 0}}},
         "report.row_count.expected"),
        ({"model": "churn", "report": {"contract": "c", "created_at": "0001-01-01T00:00:00+01:00"}},
         "report.created_at"),
    ]:
        status, answer = await api.post("/reports", event)
        assert (status, answer["field"]) == (422, field), answer
    assert await walk(api) == []


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"status": "fine"}, "status"),
    ({"since": "yesterday"}, "since"), ({"cursor": "forged"}, "cursor"), ({"colour": "red"}, "colour"),
])
async def test_bad_listing_parameters_are_422_naming_them(api: Api, params: dict[str, str], field: str) -> None:
    status, answer = await api.get("/reports", **params)
    assert (status, answer["field"]) == (422, field), answer


async def test_a_parameter_given_twice_is_refused(api: Api) -> None:
    resp = await api.client.get("/api/v1/reports?model=a&model=b", headers=api.auth("read"))
    assert (resp.status, (await resp.json())["field"]) == (422, "model")


async def test_a_page_is_capped_at_500(api: Api) -> None:
    await api.store.put_reports([report_event(i) for i in range(510)])
    status, page = await api.get("/reports", limit=500)
    assert status == 200 and len(page["items"]) == 500 and page["next_cursor"] is not None
    status, default = await api.get("/reports")
    assert len(default["items"]) == 50


async def test_a_body_over_the_limit_is_413_before_it_is_read(api: Api) -> None:
    # Content-Length says too much and no body follows: the answer comes without the server waiting for it.
    host, port = api.client.server.host, api.client.server.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write((f"POST /api/v1/reports HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {api.tokens['write']}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {10 * 1024 * 1024}\r\n\r\n").encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line


async def test_a_chunked_body_over_the_limit_is_413(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"model": "churn", "report": {"contract": "'
        for _ in range(100):
            yield b"x" * 1024  # 100 KiB in all, over the test's 64 KiB limit
        yield b'"}}'

    resp = await api.client.post("/api/v1/reports", data=chunks(), headers=api.auth("write"))
    assert resp.status == 413 and (await resp.json())["field"] is None
    status, _ = await api.get("/reports")
    assert status == 200  # and the server goes on


async def test_a_metric_event_is_checked_like_a_report(api: Api) -> None:
    status, answer = await api.post("/metrics", {"model": "churn", "metric": "accuracy", "points": []})
    assert (status, answer["field"]) == (422, "points")
    status, answer = await api.post("/metrics", {"model": "churn", "metric": "accuracy", "points": [
        {"time": "2026-01-01T00:00:00Z", "value": 1e400}]})
    assert (status, answer["field"]) == (422, "points")
    status, answer = await api.get("/metrics")
    assert (status, answer["field"]) == (422, "model")
