"""The control room's store (:class:`sidecar.store.sql.SqlStore`): one suite, run on SQLite and on the session's
real PostgreSQL (``control_store`` is parametrized over both; the PostgreSQL half is marked ``integration``).

Reports: idempotent upsert by id, replace-by-newer, bodies equal to what was sent, the listing's filters,
keyset walks under concurrent inserts, ``models()``, series, retention in batches, hostile names as data.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from sqlcases import MINUTE, T0, report, window

from sidecar import DataContract
from sidecar.checks.result import Status
from sidecar.errors import InvalidCursorError
from sidecar.report.event import ReportEvent
from sidecar.store.base import ControlStore, ReportQuery
from sidecar.store.sql import SqlStore
from sidecar.store.sql import reports as report_queries

pytestmark = pytest.mark.timeout(120)


async def walk(store: SqlStore, query: ReportQuery, *, limit: int) -> list[str]:
    """Every id of a listing, page by page."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await store.list_reports(query, limit=limit, cursor=cursor)
        ids += [h.id for h in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


async def test_the_sql_store_is_the_protocol(control_store: SqlStore) -> None:
    assert isinstance(control_store, ControlStore)
    await control_store.stop()
    await control_store.stop()  # twice is safe
    with pytest.raises(RuntimeError, match="not started"):
        await control_store.list_reports(ReportQuery())


async def test_the_same_report_twice_is_stored_once(control_store: SqlStore) -> None:
    a, b = window("churn", 5), window("churn", 10)
    assert await control_store.put_reports([a, b]) == [(a.report_id(), True), (b.report_id(), True)]
    assert await control_store.put_reports([b, a]) == [(b.report_id(), False), (a.report_id(), False)]
    c = window("churn", 15)
    assert await control_store.put_reports([c, c]) == [(c.report_id(), True), (c.report_id(), False)]
    page = await control_store.list_reports(ReportQuery())
    assert [h.id for h in page.items] == [c.report_id(), b.report_id(), a.report_id()]
    assert len(await control_store.series("churn", "inputs", "distribution", "age")) == 3
    assert await control_store.put_reports([]) == []


async def test_a_header_says_what_the_report_says(control_store: SqlStore) -> None:
    event = window("churn", 5, status=Status.CRITICAL, value=0.5, pod="churn-7d9f-x2")
    await control_store.put_reports([event])
    stored = await control_store.get_report(event.report_id())
    assert stored is not None
    r = event.report
    assert stored.model_dump(exclude={"report"}) == {
        "id": event.report_id(), "model": "churn", "contract": "inputs", "contract_version": 1,
        "source": "window", "pod": "churn-7d9f-x2", "monitor": None, "time": T0 + 5 * MINUTE,
        "window_start": T0, "window_end": T0 + 5 * MINUTE, "created_at": r.created_at, "partial": False,
        "status": Status.CRITICAL, "row_count": {"expected": 100, "actual": 100, "change": 0.0},
        "counts": {"healthy": 1, "warning": 0, "critical": 2},
    }
    assert await control_store.get_report("no-such-id") is None


async def test_bodies_equal_what_was_sent(control_store: SqlStore, reference, current) -> None:
    sent = DataContract("churn_inputs", reference).validate(current)
    batch = ReportEvent(model="churn", source="batch", report=sent)
    await control_store.put_reports([batch])
    stored = await control_store.get_report(batch.report_id())
    assert stored is not None and stored.time == sent.created_at  # no window: sorted by created_at
    assert stored.report == sent and stored.report.to_json() == sent.to_json()


async def test_a_body_kept_as_the_json_it_arrived_in_reads_back_equal(control_store: SqlStore) -> None:
    sent = [window("churn", 5), window("churn", 10, status=Status.CRITICAL)]
    raw = [e.model_dump_json().encode() for e in sent]
    parsed = [ReportEvent.model_validate_json(r) for r in raw]
    assert await control_store.put_reports(parsed, raw=raw) == [(e.report_id(), True) for e in sent]
    for event in sent:
        stored = await control_store.get_report(event.report_id())
        assert stored is not None and stored.report == event.report
    with pytest.raises(ValueError, match="one JSON text per event"):
        await control_store.put_reports(parsed, raw=raw[:1])


async def test_a_report_made_again_replaces_the_stored_one_and_an_older_one_does_not(
        control_store: SqlStore) -> None:
    first = window("churn", 5, status=Status.HEALTHY, value=0.1, created=T0 + 6 * MINUTE)
    remade = window("churn", 5, status=Status.CRITICAL, value=0.9, created=T0 + 9 * MINUTE)
    older = window("churn", 5, status=Status.WARNING, value=0.25, created=T0 + 7 * MINUTE)
    assert first.report_id() == remade.report_id() == older.report_id()  # a window's id ignores the body
    await control_store.put_reports([first])
    assert await control_store.put_reports([remade]) == [(remade.report_id(), False)]
    assert await control_store.put_reports([older]) == [(older.report_id(), False)]  # a late redelivery
    stored = await control_store.get_report(first.report_id())
    assert stored is not None and stored.status is Status.CRITICAL and stored.report == remade.report
    assert [(p.value, p.status) for p in await control_store.series("churn", "inputs", "distribution", "age")] \
        == [(0.9, Status.CRITICAL)]
    models = await control_store.models()
    assert models[0]["status"] is Status.CRITICAL
    assert [h.id for h in (await control_store.list_reports(ReportQuery())).items] == [first.report_id()]


async def test_listing_filters_narrow_and_combine(control_store: SqlStore) -> None:
    events = [
        window("churn", 5, status=Status.HEALTHY),
        window("churn", 10, status=Status.CRITICAL),
        window("churn", 15, contract="outputs", status=Status.WARNING),
        window("fraud", 20, status=Status.CRITICAL, pod=None),
        window("churn", 25, source="monitor", monitor="nightly", pod=None),
        window("churn", 30, source="batch", pod=None),
    ]
    await control_store.put_reports(events)
    ids = [e.report_id() for e in events]

    async def found(**filters: object) -> list[str]:
        return await walk(control_store, ReportQuery(**filters), limit=2)

    assert await found() == ids[::-1]
    assert await found(model="churn") == [ids[5], ids[4], ids[2], ids[1], ids[0]]
    assert await found(model="churn", contract="inputs") == [ids[5], ids[4], ids[1], ids[0]]
    assert await found(status="critical") == [ids[3], ids[1]]
    assert await found(model="churn", status=Status.CRITICAL) == [ids[1]]
    assert await found(source="monitor") == await found(monitor="nightly") == [ids[4]]
    assert await found(source="batch") == [ids[5]]
    assert await found(since=T0 + 10 * MINUTE, until=T0 + 25 * MINUTE) == [ids[3], ids[2], ids[1]]  # [since, until)
    assert await found(model="nobody") == []


async def test_walking_every_page_while_reports_arrive_yields_each_old_report_exactly_once(
        control_store: SqlStore) -> None:
    rng = random.Random(7)
    # Old reports, several at the very same time (pods of one model) so the order's tie-break on id matters.
    old = [window(f"m{i % 3}", rng.randrange(0, 60), pod=f"pod-{i}") for i in range(90)]
    await control_store.put_reports(old)
    old_ids = {e.report_id() for e in old}
    assert len(old_ids) == 90
    seen: list[str] = []
    cursor = None
    added = 0
    while True:
        page = await control_store.list_reports(ReportQuery(), limit=7, cursor=cursor)
        seen += [h.id for h in page.items]
        # Between pages, reports arrive: newer ones, and late ones in the middle of the walked history.
        late = [window("m9", rng.randrange(-10, 120), pod=f"late-{added + k}") for k in range(3)]
        await control_store.put_reports(late)
        added += 3
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen))  # no report twice
    assert old_ids <= set(seen)  # every old report once
    times = [h.time for h in (await control_store.list_reports(ReportQuery(), limit=500)).items]
    assert times == sorted(times, reverse=True)


async def test_a_cursor_that_is_not_ours_and_a_bad_limit_are_refused(control_store: SqlStore) -> None:
    for bad in ("", "not base64!", "bm9wZQ", "MTIzfA"):  # "MTIzfA" = "123|": no id
        with pytest.raises(InvalidCursorError):
            await control_store.list_reports(ReportQuery(), cursor=bad)
    for limit in (0, report_queries.MAX_PAGE + 1):
        with pytest.raises(ValueError, match="limit"):
            await control_store.list_reports(ReportQuery(), limit=limit)


async def test_models_show_the_worst_current_status_and_each_contracts_newest_report(
        control_store: SqlStore) -> None:
    events = [
        window("churn", 5, status=Status.CRITICAL),
        window("churn", 10, status=Status.HEALTHY),  # newer: the contract is healthy again
        window("churn", 7, contract="outputs", status=Status.WARNING),
        window("fraud", 3, status=Status.CRITICAL),
    ]
    await control_store.put_reports(events)
    assert await control_store.models() == [
        {"model": "churn", "status": Status.WARNING, "contracts": [
            {"contract": "inputs", "status": Status.HEALTHY, "time": T0 + 10 * MINUTE, "id": events[1].report_id()},
            {"contract": "outputs", "status": Status.WARNING, "time": T0 + 7 * MINUTE, "id": events[2].report_id()},
        ]},
        {"model": "fraud", "status": Status.CRITICAL, "contracts": [
            {"contract": "inputs", "status": Status.CRITICAL, "time": T0 + 3 * MINUTE, "id": events[3].report_id()},
        ]},
    ]
    late = window("churn", 1, status=Status.CRITICAL)  # an old window arriving late is not the newest
    await control_store.put_reports([late])
    assert (await control_store.models())[0]["contracts"][0]["id"] == events[1].report_id()


async def test_a_series_is_one_checks_values_on_one_column_oldest_first(control_store: SqlStore) -> None:
    events = [window("churn", m, value=m / 100, status=Status.WARNING if m > 20 else Status.HEALTHY)
              for m in (30, 10, 20)]
    events.append(window("churn", 40, columns=("spend",)))  # a window without "age": no point there
    events.append(window("churn", 50, contract="outputs"))
    await control_store.put_reports(events)
    points = await control_store.series("churn", "inputs", "distribution", "age")
    assert [(p.time, p.value, p.status, p.report_id) for p in points] == [
        (T0 + 10 * MINUTE, 0.1, Status.HEALTHY, events[1].report_id()),
        (T0 + 20 * MINUTE, 0.2, Status.HEALTHY, events[2].report_id()),
        (T0 + 30 * MINUTE, 0.3, Status.WARNING, events[0].report_id()),
    ]
    assert [p.value for p in await control_store.series("churn", "inputs", "distribution", "age", limit=2)] \
        == [0.2, 0.3]  # the newest two, oldest first
    assert [p.value for p in await control_store.series("churn", "inputs", "distribution", "age",
                                                        since=T0 + 20 * MINUTE, until=T0 + 30 * MINUTE)] == [0.2]
    table = await control_store.series("churn", "inputs", "row_count", None)
    assert len(table) == 4 and table == await control_store.series("churn", "inputs", "row_count", "*")
    assert await control_store.series("churn", "inputs", "distribution", "nope") == []
    assert await control_store.series("churn", "inputs", "nope", "age") == []


async def test_retention_deletes_old_reports_in_bounded_batches(control_store: SqlStore,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    events = [window("churn", m) for m in range(10)] + [window("fraud", 3), window("churn", 100)]
    await control_store.put_reports(events)
    steps: list[int] = []
    real = report_queries.delete_before

    async def counted(conn, cutoff, batch):  # type: ignore[no-untyped-def]
        steps.append(n := await real(conn, cutoff, batch))
        return n

    monkeypatch.setattr(report_queries, "delete_before", counted)
    assert await control_store.delete_reports_before(T0 + 50 * MINUTE, batch=4) == 11
    assert steps == [4, 4, 3]  # each step its own transaction, at most `batch` reports
    assert await walk(control_store, ReportQuery(), limit=50) == [events[-1].report_id()]
    assert await control_store.get_report(events[0].report_id()) is None
    assert [p.report_id for p in await control_store.series("churn", "inputs", "distribution", "age")] \
        == [events[-1].report_id()]
    assert [m["model"] for m in await control_store.models()] == ["churn"]  # fraud's only report is gone
    assert await control_store.delete_reports_before(T0, batch=4) == 0
    with pytest.raises(ValueError, match="batch"):
        await control_store.delete_reports_before(T0, batch=0)


HOSTILE = ["<script>alert(1)</script>", "o'brien", 'say "hi"', "x'; DROP TABLE reports; --", "é 雪 \\ %_"]


@pytest.mark.parametrize("name", HOSTILE)
async def test_names_and_filter_values_are_data_never_sql(control_store: SqlStore, name: str) -> None:
    event = ReportEvent(model=name, source="batch", monitor=name,
                        report=report(name, columns=(name, "plain")))
    other = window("churn", 5)
    await control_store.put_reports([event, other])
    assert [h.model for h in (await control_store.list_reports(ReportQuery(model=name))).items] == [name]
    assert [h.contract for h in (await control_store.list_reports(ReportQuery(contract=name))).items] == [name]
    assert len((await control_store.list_reports(ReportQuery(monitor=name))).items) == 1
    assert len(await control_store.series(name, name, "distribution", name)) == 1
    assert [m["model"] for m in await control_store.models()] == sorted([name, "churn"])
    assert len((await control_store.list_reports(ReportQuery())).items) == 2  # every table still there
    assert (await control_store.list_reports(ReportQuery(model="%"))).items == []  # no LIKE, no wildcard


async def test_concurrent_writers_store_each_report_once(control_store: SqlStore) -> None:
    events = [window("churn", m, pod=f"pod-{m % 4}") for m in range(40)]
    batches = [random.Random(i).sample(events, 15) for i in range(8)]
    results = await asyncio.gather(*(control_store.put_reports(b) for b in batches))
    created = [rid for result in results for rid, new in result if new]
    assert len(created) == len(set(created)) == len({e.report_id() for b in batches for e in b})
    assert len(await walk(control_store, ReportQuery(), limit=500)) == len(created)


async def test_times_without_a_zone_are_utc(control_store: SqlStore) -> None:
    naive = report(end=(T0 + 5 * MINUTE).replace(tzinfo=None), created=(T0 + 6 * MINUTE).replace(tzinfo=None))
    event = ReportEvent(model="churn", source="window", report=naive)
    await control_store.put_reports([event])
    (header,) = (await control_store.list_reports(ReportQuery(since=T0 + 5 * MINUTE))).items
    assert header.time == T0 + 5 * MINUTE and header.time.utcoffset() == timedelta(0)
