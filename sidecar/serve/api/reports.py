"""``/api/v1/reports``: take a report event, list headers by filters and cursor, show one report.

Each handler parses the request into a model, makes one store call and renders the answer; the store
binds every filter value as a parameter (``sidecar.store.sql``), so a quote or a semicolon in a filter is
just a value that matches nothing.
"""

from __future__ import annotations

import re

from aiohttp import web

from sidecar.errors import InvalidCursorError
from sidecar.report.event import ID_PATTERN, ReportEvent
from sidecar.serve.api.params import ReportListParams, Stored
from sidecar.serve.api.parse import json_model, parse_body, parse_query
from sidecar.serve.errors import api_error
from sidecar.serve.keys import METRICS, STORE
from sidecar.serve.storable import report_problem

__all__ = ["get_report", "list_reports", "post_report"]

_ID = re.compile(ID_PATTERN)


async def post_report(request: web.Request) -> web.Response:
    """``POST /reports`` (write): 201 ``{"id"}`` for a new report, 200 with the same id for one stored already."""
    event = await parse_body(request, ReportEvent)
    problem = report_problem(event)
    if problem is not None:
        raise api_error(422, f"{problem[0]}: {problem[1]}", problem[0])
    [(report_id, created)] = await request.app[STORE].put_reports([event])
    request.app[METRICS].count_reports("http", int(created), int(not created))
    return json_model(Stored(id=report_id), status=201 if created else 200,
                      headers={"Location": f"{request.app.router['report'].url_for(id=report_id)}"})


async def list_reports(request: web.Request) -> web.Response:
    """``GET /reports`` (read): one page of headers, newest first, and the cursor of the next."""
    params = parse_query(request, ReportListParams)
    try:
        page = await request.app[STORE].list_reports(params.query(), limit=params.limit, cursor=params.cursor)
    except InvalidCursorError as exc:
        raise api_error(422, f"cursor: {exc}", "cursor") from None
    return json_model(page)


async def get_report(request: web.Request) -> web.Response:
    """``GET /reports/{id}`` (read): the header and the report as it was sent."""
    report_id = request.match_info["id"]
    stored = await request.app[STORE].get_report(report_id) if _ID.match(report_id) else None
    if stored is None:
        raise api_error(404, f"no report with id {report_id!r}", "id")
    return json_model(stored)
