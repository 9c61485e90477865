"""``/api/v1/metrics``: production metric points (realized and estimated) in and out.

Not to be confused with ``/metrics``, the control room's own Prometheus page.
"""

from __future__ import annotations

from aiohttp import web

from sidecar.serve.api.params import MetricParams, MetricsAnswer, Written
from sidecar.serve.api.parse import json_model, parse_body, parse_query
from sidecar.serve.errors import api_error
from sidecar.serve.keys import STORE
from sidecar.serve.storable import metric_problem
from sidecar.store.base import MetricEvent

__all__ = ["get_metric_points", "post_metric_points"]


async def post_metric_points(request: web.Request) -> web.Response:
    """``POST /metrics`` (write): upsert ``{model, metric, kind, points}`` by time; 200 ``{"written"}``."""
    event = await parse_body(request, MetricEvent)
    problem = metric_problem(event)
    if problem is not None:
        raise api_error(422, f"{problem[0]}: {problem[1]}", problem[0])
    written = await request.app[STORE].put_metric_points(event.model, event.metric, event.kind, event.points)
    return json_model(Written(written=written))


async def get_metric_points(request: web.Request) -> web.Response:
    """``GET /metrics`` (read): ``{"series": [{model, metric, kind, points: [{time, value}]}]}``."""
    p = parse_query(request, MetricParams)
    series = await request.app[STORE].metric_points(p.model, p.metric, p.kind, since=p.since, until=p.until)
    return json_model(MetricsAnswer(series=series))
