"""The API's one error shape, ``{"error": "...", "field": "path.to.field" | null}``, and the middleware that
makes every failure take it (as a response, so the middleware around it sees every answer's status).

Handlers refuse a request by raising :func:`api_error` (an aiohttp ``HTTPException`` whose body already has
the shape) or :func:`validation_error` (a pydantic ``ValidationError`` as a 422 naming the first field).
:func:`error_middleware` turns aiohttp's own refusals (404 no such route, 405, 413 from ``client_max_size``)
into the same shape, and an unexpected exception into a 500 whose body names an incident id that the
logged traceback carries too: a bad request never crashes the server nor leaks a traceback to the client.

>>> e = api_error(404, "no report 'x'", "id")
>>> e.status, e.text
(404, '{"error": "no report \\'x\\'", "field": "id"}')
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

__all__ = ["ERROR_STATUSES", "api_error", "error_body", "error_middleware", "json_error", "validation_error"]

log = logging.getLogger(__name__)

#: The HTTP exception class of each status a handler may refuse with.
ERROR_STATUSES: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    405: web.HTTPMethodNotAllowed,
    409: web.HTTPConflict,
    413: web.HTTPRequestEntityTooLarge,
    422: web.HTTPUnprocessableEntity,
    500: web.HTTPInternalServerError,
    503: web.HTTPServiceUnavailable,
}

#: Headers of an aiohttp refusal worth keeping when it is rewritten as JSON.
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


def error_body(message: str, field: str | None = None) -> dict[str, str | None]:
    """The body of every error answer."""
    return {"error": message, "field": field}


def json_error(status: int, message: str, field: str | None = None,
               headers: Mapping[str, str] | None = None) -> web.Response:
    """An error answer (a response, for middleware that must not raise)."""
    return web.json_response(error_body(message, field), status=status, headers=headers)


def api_error(status: int, message: str, field: str | None = None, *,
              headers: Mapping[str, str] | None = None) -> web.HTTPException:
    """The exception a handler raises to refuse a request with ``status`` (one of :data:`ERROR_STATUSES`)."""
    cls = ERROR_STATUSES[status]
    kwargs: dict[str, Any] = {"text": json.dumps(error_body(message, field)), "content_type": "application/json",
                              "headers": headers}
    if cls is web.HTTPRequestEntityTooLarge:
        return web.HTTPRequestEntityTooLarge(0, **kwargs)
    if cls is web.HTTPMethodNotAllowed:
        return web.HTTPMethodNotAllowed("", [], **kwargs)
    return cls(**kwargs)


def validation_error(exc: ValidationError, prefix: str = "") -> web.HTTPException:
    """422 for a pydantic error: every problem in ``error``, the first one's dotted location in ``field``.

    ``prefix`` is put before each location (``"query."`` is not used: query parameters are named bare).

    >>> from pydantic import BaseModel
    >>> class M(BaseModel):
    ...     n: int
    >>> try:
    ...     M.model_validate({"n": "x"})
    ... except ValidationError as exc:
    ...     print(validation_error(exc).text)
    {"error": "n: Input should be a valid integer, unable to parse string as an integer", "field": "n"}
    """
    problems: list[str] = []
    first: str | None = None
    for e in exc.errors(include_url=False):
        loc = prefix + ".".join(str(p) for p in e["loc"])
        first = first if first is not None else (loc or None)
        problems.append(f"{loc or '(body)'}: {e['msg']}")
    return api_error(422, "; ".join(problems[:10]) + ("; ..." if len(problems) > 10 else ""), first)


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every refusal as ``{"error", "field"}``; an unexpected exception as a logged 500."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: exc.headers[k] for k in _KEPT_HEADERS if k in exc.headers}
        if exc.content_type == "application/json":  # raised by api_error: already in shape
            return web.Response(status=exc.status, text=exc.text, content_type="application/json", headers=headers)
        return json_error(exc.status, _reason(exc, request), None, headers)
    except Exception:
        incident = secrets.token_hex(6)
        log.exception("unexpected error answering %s %s (incident %s)", request.method, request.path, incident)
        return json_error(500, f"internal error (incident {incident}; the server's log has the details)")


def _reason(exc: web.HTTPException, request: web.Request) -> str:
    if exc.status == 404:
        return f"no such resource: {request.path}"
    if exc.status == 405:
        return f"method {request.method} is not allowed on {request.path}"
    if exc.status == 413:
        return f"request body larger than {request.client_max_size} bytes"
    return exc.text or exc.reason
