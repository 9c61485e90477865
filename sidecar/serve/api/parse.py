"""From a request to a pydantic model and from a model to a response: the only parsing handlers do.

:func:`read_body` refuses a body over ``limits.max_body_bytes`` with 413 before reading it when
``Content-Length`` says so, and stops reading one sent without a length (chunked) as soon as it passes the
limit, so no request makes the server hold more than the limit. :func:`parse_body` answers 400 for a body
that is not JSON and 422, naming the field, for JSON that does not fit the model (strictly: no coercion of
a string into a number or a time); :func:`parse_query` does
the same for query parameters (a parameter given twice is a 422 too, never silently the last one).
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from sidecar.serve.errors import api_error, validation_error
from sidecar.serve.keys import SETTINGS

__all__ = ["json_model", "parse_body", "parse_query", "read_body"]

M = TypeVar("M", bound=BaseModel)


async def read_body(request: web.Request) -> bytes:
    """The request's body, at most ``limits.max_body_bytes`` of it (413 beyond)."""
    limit = request.app[SETTINGS].limits.max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        raise api_error(413, f"request body of {length} bytes is larger than the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise api_error(413, f"request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_body(request: web.Request, model: type[M]) -> M:
    """The JSON body as ``model``: 400 if it is not JSON, 422 naming the field if it does not fit."""
    body = await read_body(request)
    if not body.strip():
        raise api_error(400, f"the request body is empty; expected a JSON {model.__name__}")
    try:
        # Strict: JSON types must be the document's (a number is not "1.5", a time is RFC 3339 text), so what
        # schemas/openapi.yaml calls invalid is refused, not coerced.
        return model.model_validate_json(body, strict=True)
    except ValidationError as exc:
        invalid = [e for e in exc.errors(include_url=False) if e["type"] == "json_invalid"]
        if invalid:
            raise api_error(400, f"the request body is not valid JSON: {invalid[0]['msg']}") from None
        raise validation_error(exc) from None


def parse_query(request: web.Request, model: type[M]) -> M:
    """The query parameters as ``model`` (whose ``extra="forbid"`` makes an unknown one a 422)."""
    data: dict[str, Any] = {}
    for key, value in request.query.items():
        if key in data:
            raise api_error(422, f"query parameter {key!r} is given more than once", key)
        data[key] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def json_model(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """``model`` as a JSON response (pydantic's own serializer: datetimes in ISO 8601, no NaN)."""
    return web.Response(body=model.model_dump_json().encode("utf-8"), status=status,
                        content_type="application/json", headers=headers)
