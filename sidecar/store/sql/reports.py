"""The report queries of the SQL store, each on a connection the caller opened (and commits).

Every statement is SQLAlchemy Core with bound parameters; no value a client sent is ever part of SQL text.
Every read is bounded by an index range: a listing page (``(time, id) < cursor ... LIMIT n``), a series
(``LIMIT n`` from its newest point), a detail (one primary key); ``GET /models`` reads ``latest_reports``,
one row per (model, contract), kept current by every write and every retention batch.

Replace or keep, when an id arrives again: the stored report is replaced only by one made later (a newer
``created_at``), never by an equal or older one. So a redelivered event (Kafka at-least-once, a retried
POST) changes nothing, and a report that was truly remade under the same id, such as a fleet window
re-judged when a pod reported late (same derived id, newer body), replaces the body, the header and the
series rows together; a late redelivery of the older verdict cannot undo it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, bindparam, delete, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.checks.result import Status
from sidecar.report.event import ReportEvent
from sidecar.store.base import ReportHeader, ReportPage, ReportQuery, SeriesPoint, StoredReport
from sidecar.store.sql.cursor import decode_cursor, encode_cursor
from sidecar.store.sql.engine import insert_for
from sidecar.store.sql.rows import HEADER_COLUMNS, column_key, decode_body, header_fields, report_rows, utc
from sidecar.store.sql.schema import UtcDateTime, check_values, latest_reports, report_bodies, reports

__all__ = ["MAX_PAGE", "delete_before", "get_report", "limited", "list_reports", "listing_statement", "models",
           "put_reports", "series"]

#: The largest listing page (``GET /reports``'s ``limit``).
MAX_PAGE = 500
# Ids per IN (...) list: far below SQLite's 32,766 and PostgreSQL's 32,767 bound parameters per statement.
_IN_CHUNK = 1000
_FILTERS = ("model", "contract", "status", "source", "monitor")
_HEADER = [reports.c[name] for name in HEADER_COLUMNS]
_STATUS = {s.value: s for s in Status}  # a dict lookup: Status(value) costs microseconds a point


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i:i + _IN_CHUNK]


async def put_reports(conn: AsyncConnection, events: Sequence[ReportEvent], now: datetime,
                      raw: Sequence[bytes] | None = None) -> list[tuple[str, bool]]:
    """Upsert ``events`` (see the module docstring); ``(id, created)`` per event, in order. ``raw``: the JSON
    each event was parsed from, stored as its body instead of serializing the report again."""
    ids = [event.report_id() for event in events]
    position: dict[str, int] = {}
    for i, (report_id, event) in enumerate(zip(ids, events, strict=True)):
        kept = position.get(report_id)
        if kept is None or utc(event.report.created_at) > utc(events[kept].report.created_at):
            position[report_id] = i
    chosen = {rid: events[i] for rid, i in position.items()}
    order = sorted(chosen)  # one lock order for every transaction: concurrent writers cannot deadlock
    existing: dict[str, Any] = {}
    for chunk in _chunks(order):
        stmt = select(reports.c.id, reports.c.created_at, reports.c.model, reports.c.contract).where(
            reports.c.id.in_(chunk))
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        existing.update({row.id: row for row in await conn.execute(stmt)})
    new = [rid for rid in order if rid not in existing]
    renewed = [rid for rid in order
               if rid in existing and utc(chosen[rid].report.created_at) > existing[rid].created_at]
    rows = {rid: report_rows(rid, chosen[rid], now, None if raw is None else raw[position[rid]])
            for rid in (*new, *renewed)}

    created: set[str] = set()
    if new:
        # ON CONFLICT DO NOTHING: another control room inserting the same id at the same moment wins cleanly.
        stmt = insert_for(conn, reports).on_conflict_do_nothing(index_elements=["id"]).returning(reports.c.id)
        created = set((await conn.execute(stmt, [rows[rid][0] for rid in new])).scalars())
        if created:
            await conn.execute(report_bodies.insert(), [rows[rid][1] for rid in new if rid in created])
            values = [v for rid in new if rid in created for v in rows[rid][2]]
            if values:
                await conn.execute(check_values.insert(), values)
    if renewed:
        await _replace(conn, [rows[rid] for rid in renewed])
    touched = {(rows[rid][0]["model"], rows[rid][0]["contract"]) for rid in (*created, *renewed)}
    touched |= {(existing[rid].model, existing[rid].contract) for rid in renewed}
    await _refresh_latest(conn, touched)

    seen: set[str] = set()
    out = []
    for report_id in ids:
        out.append((report_id, report_id in created and report_id not in seen))
        seen.add(report_id)
    return out


async def _replace(conn: AsyncConnection, rows: list[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]]
                   ) -> None:
    ids = [head["id"] for head, _, _ in rows]
    # An executemany UPDATE: SET takes the parameters' column names; the key is bound apart from "id".
    await conn.execute(
        update(reports).where(reports.c.id == bindparam("key")),
        [{"key": head["id"], **{k: v for k, v in head.items() if k != "id"}} for head, _, _ in rows],
    )
    await conn.execute(
        update(report_bodies).where(report_bodies.c.id == bindparam("key")),
        [{"key": body["id"], "encoding": body["encoding"], "body": body["body"]} for _, body, _ in rows],
    )
    for chunk in _chunks(ids):
        await conn.execute(delete(check_values).where(check_values.c.report_id.in_(chunk)))
    values = [v for _, _, vs in rows for v in vs]
    if values:
        await conn.execute(check_values.insert(), values)


async def _refresh_latest(conn: AsyncConnection, pairs: Iterable[tuple[str, str]]) -> None:
    """Point ``latest_reports`` at the newest report of each pair (or drop the pair when none is left)."""
    for model, contract in sorted(pairs):
        newest = (await conn.execute(
            select(reports.c.id, reports.c.time, reports.c.status)
            .where(reports.c.model == model, reports.c.contract == contract)
            .order_by(reports.c.time.desc(), reports.c.id.desc()).limit(1)
        )).first()
        if newest is None:
            await conn.execute(delete(latest_reports).where(
                latest_reports.c.model == model, latest_reports.c.contract == contract))
            continue
        row = {"model": model, "contract": contract, "report_id": newest.id, "time": newest.time,
               "status": newest.status}
        stmt = insert_for(conn, latest_reports).values(row)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=["model", "contract"],
            set_={"report_id": stmt.excluded.report_id, "time": stmt.excluded.time,
                  "status": stmt.excluded.status}))


def listing_statement(query: ReportQuery, limit: int, cursor: str | None) -> Select[Any]:
    """The ``SELECT`` of one listing page: ``limit + 1`` rows (the extra one says whether a page follows)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    stmt = select(*_HEADER)
    for name in _FILTERS:
        value = getattr(query, name)
        if value is not None:
            stmt = stmt.where(reports.c[name] == (value.value if isinstance(value, Status) else value))
    if query.since is not None:
        stmt = stmt.where(reports.c.time >= query.since)
    if query.until is not None:
        stmt = stmt.where(reports.c.time < query.until)
    if cursor is not None:
        time, report_id = decode_cursor(cursor)
        # A row-value comparison, which both databases answer with a range scan of the (..., time, id) index.
        stmt = stmt.where(tuple_(reports.c.time, reports.c.id) < tuple_(literal(time, UtcDateTime),
                                                                        literal(report_id, reports.c.id.type)))
    return stmt.order_by(reports.c.time.desc(), reports.c.id.desc()).limit(limit + 1)


async def list_reports(conn: AsyncConnection, query: ReportQuery, limit: int, cursor: str | None) -> ReportPage:
    """One page, newest first by ``(time, id)``, after ``cursor``."""
    rows = (await conn.execute(listing_statement(query, limit, cursor))).all()
    items = [ReportHeader(**header_fields(row)) for row in rows[:limit]]
    more = len(rows) > limit
    return ReportPage(items=items, next_cursor=encode_cursor(items[-1].time, items[-1].id) if more else None)


async def get_report(conn: AsyncConnection, report_id: str) -> StoredReport | None:
    """One report by id with its body."""
    row = (await conn.execute(
        select(*_HEADER, report_bodies.c.encoding, report_bodies.c.body)
        .join(report_bodies, report_bodies.c.id == reports.c.id)
        .where(reports.c.id == report_id)
    )).first()
    if row is None:
        return None
    return StoredReport(**header_fields(row), report=decode_body(row.encoding, row.body))


async def models(conn: AsyncConnection) -> list[dict[str, Any]]:
    """``GET /models``: per model its worst current status and each contract's newest report."""
    out: dict[str, dict[str, Any]] = {}
    rows = await conn.execute(select(latest_reports).order_by(latest_reports.c.model, latest_reports.c.contract))
    for row in rows:
        entry = out.setdefault(row.model, {"model": row.model, "status": Status.HEALTHY, "contracts": []})
        status = Status(row.status)
        entry["status"] = max(entry["status"], status)
        entry["contracts"].append({"contract": row.contract, "status": status, "time": row.time,
                                   "id": row.report_id})
    return list(out.values())


async def series(conn: AsyncConnection, model: str, contract: str, check: str, column: str | None, *,
                 since: datetime | None, until: datetime | None, limit: int | None) -> list[SeriesPoint]:
    """The newest ``limit`` values of ``check`` on ``column`` (``None``: all), oldest first.

    Rows hold every column of a check, so rows are read newest first, a page at a time, until ``limit``
    of them had the column: one page when the column is in every report, more only across a stretch of
    reports without it (a column dropped from the contract, then added back).
    """
    c = check_values.c
    base = select(c.time, c.report_id, c.by_column).where(
        c.model == model, c.contract == contract, c.check_name == check)
    if since is not None:
        base = base.where(c.time >= since)
    if until is not None:
        base = base.where(c.time < until)
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    key = column_key(column)
    page = None if limit is None else max(limit, 100)
    points: list[SeriesPoint] = []
    after: tuple[datetime, str] | None = None
    while limit is None or len(points) < limit:
        stmt = base
        if after is not None:
            stmt = stmt.where(tuple_(c.time, c.report_id) < tuple_(literal(after[0], UtcDateTime),
                                                                    literal(after[1], c.report_id.type)))
        rows = (await conn.execute(limited(stmt.order_by(c.time.desc(), c.report_id.desc()), page))).all()
        for row in rows:
            found = orjson.loads(row.by_column).get(key)
            if found is not None:
                # Rows this store wrote: built without re-validation (a third of the cost of a long series).
                points.append(SeriesPoint.model_construct(time=row.time, value=found[0], status=_STATUS[found[1]],
                                                          report_id=row.report_id))
                if limit is not None and len(points) == limit:
                    break
        if page is None or len(rows) < page:
            break
        after = (rows[-1].time, rows[-1].report_id)
    points.reverse()
    return points


def limited(stmt: Select[Any], limit: int | None) -> Select[Any]:
    """``stmt`` with ``LIMIT limit`` (``None``: unbounded, for exports; never on a request's default)."""
    if limit is None:
        return stmt
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    return stmt.limit(limit)


async def delete_before(conn: AsyncConnection, cutoff: datetime, batch: int) -> int:
    """Delete up to ``batch`` of the oldest reports before ``cutoff`` (one retention step); how many."""
    found = (await conn.execute(
        select(reports.c.id, reports.c.model, reports.c.contract).where(reports.c.time < cutoff)
        .order_by(reports.c.time, reports.c.id).limit(batch)
    )).all()
    ids = [row.id for row in found]
    for chunk in _chunks(ids):
        await conn.execute(delete(check_values).where(check_values.c.report_id.in_(chunk)))
        await conn.execute(delete(report_bodies).where(report_bodies.c.id.in_(chunk)))
        await conn.execute(delete(reports).where(reports.c.id.in_(chunk)))
    await _refresh_latest(conn, {(row.model, row.contract) for row in found})
    return len(ids)
