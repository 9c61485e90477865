"""The production-metric queries of the SQL store: points upserted by (model, metric, kind, time).

``metric_series`` lists the series that exist, so a model's metrics are found without reading their
points; each series is then read from its newest point back, at most ``limit`` points.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.store.base import MetricKind, MetricPoint
from sidecar.store.sql.engine import insert_for
from sidecar.store.sql.reports import limited
from sidecar.store.sql.rows import utc
from sidecar.store.sql.schema import metric_points, metric_series

__all__ = ["metric_points_of", "put_metric_points"]


async def put_metric_points(conn: AsyncConnection, model: str, metric: str, kind: MetricKind,
                            points: Sequence[MetricPoint]) -> int:
    """Insert or replace points; the last of several at one time wins. Returns how many times were written."""
    by_time = {utc(p.time): p.value for p in points}  # one row per time: one statement may not touch a row twice
    if not by_time:
        return 0
    await conn.execute(insert_for(conn, metric_series).values(model=model, metric=metric, kind=kind)
                       .on_conflict_do_nothing(index_elements=["model", "metric", "kind"]))
    stmt = insert_for(conn, metric_points)
    stmt = stmt.on_conflict_do_update(index_elements=["model", "metric", "kind", "time"],
                                      set_={"value": stmt.excluded.value})
    await conn.execute(stmt, [{"model": model, "metric": metric, "kind": kind, "time": t, "value": v}
                              for t, v in sorted(by_time.items())])
    return len(by_time)


async def metric_points_of(conn: AsyncConnection, model: str, metric: str | None, kind: MetricKind | None, *,
                           since: datetime | None, until: datetime | None, limit: int | None
                           ) -> list[dict[str, Any]]:
    """``[{model, metric, kind, points: [{time, value}]}]``, each series its newest ``limit`` points (``None``:
    all) oldest first, series ordered by (metric, kind); a series without a point in the range is left out."""
    s = metric_series.c
    found = select(s.metric, s.kind).where(s.model == model)
    if metric is not None:
        found = found.where(s.metric == metric)
    if kind is not None:
        found = found.where(s.kind == kind)
    out = []
    p = metric_points.c
    for row in (await conn.execute(found.order_by(s.metric, s.kind))).all():
        stmt = select(p.time, p.value).where(p.model == model, p.metric == row.metric, p.kind == row.kind)
        if since is not None:
            stmt = stmt.where(p.time >= since)
        if until is not None:
            stmt = stmt.where(p.time < until)
        rows = (await conn.execute(limited(stmt.order_by(p.time.desc()), limit))).all()
        if rows:
                out.append({"model": model, "metric": row.metric, "kind": row.kind,
                        "points": [{"time": r.time, "value": r.value} for r in reversed(rows)]})
    return out
