"""``POST /v1/events``: CloudEvents over HTTP (e.g. KServe's payload logger) into the sidecar's windows.

Binary mode (``Ce-*`` headers, body = payload), structured mode (``application/cloudevents+json``) and
batched mode (``application/cloudevents-batch+json``) are accepted. KServe sets ``Ce-Type`` to
``org.kubeflow.serving.inference.request`` or ``...response``; requests go to the inputs stream and
responses to the predictions stream. ``?stream=inputs|predictions`` overrides the routing. Events for a
stream this sidecar does not watch are accepted (202) and counted as ignored
(``model_health_http_events_ignored_total{stream}``).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from sidecar.decoders import RawMessage
from sidecar.stream.service import SidecarService

__all__ = ["handle_events"]

_ROLE_BY_SUFFIX = {"request": "inputs", "response": "predictions"}


def _role(ce_type: str | None, default: str | None) -> str | None:
    if default:
        return default
    if not ce_type:
        return None
    suffix = ce_type.rsplit(".", 1)[-1].lower()
    return _ROLE_BY_SUFFIX.get(suffix)


async def handle_events(request: web.Request, service: SidecarService) -> web.Response:
    """Decode the posted event(s), feed them to the right stream, answer with what was accepted."""
    body = await request.read()
    forced = request.query.get("stream")
    if forced is not None and forced not in ("inputs", "predictions"):
        raise web.HTTPBadRequest(text="stream must be 'inputs' or 'predictions'")
    content_type = request.headers.get("Content-Type", "")
    headers = tuple((k.lower(), v.encode("utf-8")) for k, v in request.headers.items())
    groups: dict[str, list[RawMessage]] = {}
    if content_type.startswith("application/cloudevents-batch+json"):
        try:
            events = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise web.HTTPBadRequest(text=f"invalid JSON batch: {exc}") from exc
        if not isinstance(events, list):
            raise web.HTTPBadRequest(text="a CloudEvents batch must be a JSON array")
        for event in events:
            role = _role(event.get("type") if isinstance(event, dict) else None, forced) or "inputs"
            groups.setdefault(role, []).append(RawMessage(
                orjson.dumps(event), (("content-type", b"application/cloudevents+json"),)))
    else:
        ce_type: Any = request.headers.get("Ce-Type")
        if ce_type is None and content_type.startswith("application/cloudevents+json"):
            try:
                parsed = orjson.loads(body)
                ce_type = parsed.get("type") if isinstance(parsed, dict) else None
            except orjson.JSONDecodeError:
                ce_type = None  # the decoder rejects it with a precise reason
        role = _role(ce_type, forced) or "inputs"
        groups[role] = [RawMessage(body, headers)]
    accepted = rejected = ignored = 0
    errors: list[dict[str, Any]] = []
    for role, messages in groups.items():
        stream = service.stream_for(role)
        if stream is None:
            # KServe's logger with mode "all" also posts responses; a sidecar watching only inputs takes them
            # and counts them, rather than have the logger report an error for every request.
            ignored += len(messages)
            service.metrics.http_ignored.labels(service.settings.model, role).inc(len(messages))
            continue
        result = await service.ingest_http(stream, messages)
        accepted += result.accepted_rows
        rejected += len(result.errors)
        errors += [{"stream": role, "error_class": e.error_class, "reason": e.reason} for e in result.errors]
    status = 400 if rejected and not accepted else 202
    return web.json_response({"accepted_rows": accepted, "rejected_messages": rejected,
                              "ignored_messages": ignored, "errors": errors}, status=status)
