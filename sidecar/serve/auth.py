"""Who may call what: Bearer tokens checked against the store, scopes per route, and CORS only when configured.

Every API route is registered with the scope it needs (:func:`protect`, read by :func:`auth_middleware`);
a route registered without one (``/healthz``, ``/readyz``, ``/metrics``, the OpenAPI document) is public.
Scopes nest, admin ⊇ write ⊇ read (:data:`sidecar.store.base.SCOPE_RANK`). The answers:

* no ``Authorization`` header: 401, unless the route needs only ``read`` and ``auth.anonymous_read`` is on;
* a header that is not ``Bearer <token>``, or a token the store does not know (or has revoked): 401, even
  where anonymous reads are allowed, since a client that sends a wrong token wants to know;
* a known token of too weak a scope: 403.

The store compares salted hashes in constant time (:meth:`ControlStore.check_token`); this module never
sees a stored hash. A token longer than :data:`MAX_TOKEN_LENGTH` is refused without being hashed.

CORS: with ``auth.cors_origins`` empty (the default) no response carries an ``Access-Control-*`` header and
a preflight is answered like any other unknown request. With origins listed, :func:`cors_middleware`
answers their preflights and marks their responses; credentials (cookies) are never allowed cross-origin.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from sidecar.serve.errors import api_error
from sidecar.store.base import SCOPE_RANK, ControlStore, Scope, TokenInfo

__all__ = [
    "MAX_TOKEN_LENGTH",
    "ROUTE_SCOPES",
    "TOKEN",
    "auth_middleware",
    "bearer_token",
    "cors_middleware",
    "protect",
    "required_scope",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Scope needed by each protected route, by (resource template, method); filled by :func:`protect`.
ROUTE_SCOPES = web.AppKey("route_scopes", dict[tuple[str, str], str])
#: The token a request was authorised with (absent for anonymous reads and public routes).
TOKEN = web.RequestKey("token", TokenInfo)

#: Tokens are ~43 characters (``secrets.token_urlsafe(32)`` and a prefix); anything far longer is noise.
MAX_TOKEN_LENGTH = 512

_BEARER = re.compile(r"^\s*Bearer\s+(\S+)\s*$", re.IGNORECASE)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="model-health"'}


def protect(app: web.Application, route: AbstractRoute, scope: Scope) -> AbstractRoute:
    """Record that ``route`` needs ``scope``; returns the route."""
    resource = route.resource
    if resource is None:  # pragma: no cover - every route added through the router has one
        raise ValueError(f"route {route!r} has no resource")
    app[ROUTE_SCOPES][(resource.canonical, route.method)] = scope
    return route


def required_scope(request: web.Request) -> str | None:
    """The scope the matched route needs; ``None`` for public routes and for requests that match none."""
    route = request.match_info.route
    resource = route.resource
    if resource is None:
        return None
    return request.app[ROUTE_SCOPES].get((resource.canonical, request.method))


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; ``None`` for any other value.

    >>> bearer_token("Bearer abc"), bearer_token("bearer  abc "), bearer_token("Basic abc"), bearer_token(None)
    ('abc', 'abc', None, None)
    """
    if not header:
        return None
    m = _BEARER.match(header)
    return m.group(1) if m else None


def auth_middleware(store_key: web.AppKey[ControlStore], anonymous_read: bool) -> Callable[..., Awaitable[
        web.StreamResponse]]:
    """The middleware enforcing :func:`protect`'s scopes with tokens checked in the store under ``store_key``."""

    @web.middleware
    async def authorize(request: web.Request, handler: Handler) -> web.StreamResponse:
        needed = required_scope(request)
        if needed is None:
            return await handler(request)
        header = request.headers.get("Authorization")
        if header is None:
            if needed == "read" and anonymous_read:
                return await handler(request)
            raise api_error(401, f"this endpoint needs a token of scope {needed} or above: send "
                            "'Authorization: Bearer <token>' (sidecar token create)", headers=_CHALLENGE)
        token = bearer_token(header)
        if token is None:
            raise api_error(401, "the Authorization header must be 'Bearer <token>'", headers=_CHALLENGE)
        info = None if len(token) > MAX_TOKEN_LENGTH else await request.app[store_key].check_token(token)
        if info is None:
            raise api_error(401, "unknown or revoked token", headers=_CHALLENGE)
        if SCOPE_RANK[info.scope] < SCOPE_RANK[needed]:
            raise api_error(403, f"this endpoint needs a token of scope {needed} or above; this token's scope "
                            f"is {info.scope}")
        request[TOKEN] = info
        return await handler(request)

    return authorize


def cors_middleware(origins: Sequence[str]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Answer preflights from ``origins`` (``"*"``: any) and mark their responses; nothing for others."""
    allowed = frozenset(origins)
    any_origin = "*" in allowed

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None or not (any_origin or origin.rstrip("/") in allowed):
            return await handler(request)
        marks = {"Access-Control-Allow-Origin": "*" if any_origin else origin, "Vary": "Origin"}
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return web.Response(status=204, headers={
                **marks,
                "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
            })
        response = await handler(request)  # errors are responses by now (error_middleware sits inside)
        response.headers.update(marks)
        return response

    return cors
