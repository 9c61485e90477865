"""``/api/v1/models`` and ``/api/v1/series``: every model's current status, and one check's values over time."""

from __future__ import annotations

from aiohttp import web

from sidecar.serve.api.params import ModelsAnswer, SeriesAnswer, SeriesParams
from sidecar.serve.api.parse import json_model, parse_query
from sidecar.serve.errors import api_error
from sidecar.serve.keys import STORE

__all__ = ["get_models", "get_series"]


async def get_models(request: web.Request) -> web.Response:
    """``GET /models`` (read): ``{"models": [{model, status, contracts: [{contract, status, time, id}]}]}``."""
    if request.query:
        raise api_error(422, f"GET /models takes no query parameters; got {', '.join(sorted(request.query))}",
                        next(iter(request.query)))
    return json_model(ModelsAnswer(models=await request.app[STORE].models()))


async def get_series(request: web.Request) -> web.Response:
    """``GET /series`` (read): ``{"points": [{time, value, status, report_id}]}``, oldest first."""
    p = parse_query(request, SeriesParams)
    points = await request.app[STORE].series(p.model, p.contract, p.check, p.column, since=p.since, until=p.until)
    return json_model(SeriesAnswer(points=points))
