"""Sending an event to the control room's REST API (``sidecar serve``): one POST, and what a refusal means.

Batch code is synchronous, so :func:`post_event` is too (``urllib``, no event loop): ``report.publish(url,
...)``, ``sidecar validate --publish`` and ``track_production_metrics`` with a control room configured use
it. An unreachable or overloaded control room (no answer, 408, 429, 5xx) is tried again a few times with
backoff; a refusal (400, 401, 403, 404, 413, 422) never is, since sending the same body again cannot
change the answer. Either way the caller gets :class:`~sidecar.errors.PublishError` with a message that
names what was refused and what to do about it. The sidecar's own sender (:mod:`sidecar.stream.control`)
reads answers through :func:`refusal` too, so both say the same thing.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, NamedTuple

from sidecar.errors import PublishError

__all__ = [
    "METRICS_PATH",
    "REPORTS_PATH",
    "RETRIED_STATUSES",
    "Published",
    "post_event",
    "refusal",
]

#: Where report events and metric events are posted, under the control room's URL.
REPORTS_PATH = "/api/v1/reports"
METRICS_PATH = "/api/v1/metrics"
#: Answers that may change when the same request is sent again later.
RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

_HINTS = {
    400: "the control room could not read the event",
    401: "no token, or one the control room does not know: pass a write token (sidecar token create "
         "--scope write)",
    403: "the token's scope is too weak: sending needs a token of scope write or admin",
    404: "no such endpoint: is this the control room's URL (sidecar serve)?",
    413: "the event is larger than the control room accepts",
    422: "the control room refused the event's content",
}


class Published(NamedTuple):
    """What the control room said to a report: its id, and whether it was new (201) or stored already (200)."""

    id: str
    created: bool


def refusal(status: int, body: bytes, url: str, what: str, size: int | None = None) -> PublishError | None:
    """The error for an answer that sending again cannot change; ``None`` for a success or a retriable answer.

    >>> str(refusal(403, b'{"error": "needs scope write", "field": null}', "http://cr/api/v1/reports", "report"))
    "POST http://cr/api/v1/reports (report): 403: the token's scope is too weak: sending needs a token of scope \
write or admin; the control room says: needs scope write"
    >>> refusal(503, b"", "http://cr/api/v1/reports", "report") is None
    True
    """
    if 200 <= status < 300 or status in RETRIED_STATUSES or status < 400:
        return None
    error, field = _error_of(body)
    hint = _HINTS.get(status, "the control room refused it")
    if status == 413 and size is not None:
        hint += f" ({size} bytes)"
    said = ""
    if error:
        said = f"; the control room says: {error}" + (f" (field {field})" if field else "")
    return PublishError(f"POST {url} ({what}): {status}: {hint}{said}", status=status, field=field)


def _error_of(body: bytes) -> tuple[str | None, str | None]:
    """``(error, field)`` of an ``{"error", "field"}`` body; the text itself (cut) when it is not one."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:300] or None), None
    if isinstance(data, dict):
        error, field = data.get("error"), data.get("field")
        return (None if error is None else str(error)), (None if field is None else str(field))
    return None, None


def post_event(base_url: str, path: str, body: bytes, *, token: str | None = None, what: str = "event",
               timeout: float = 30.0, attempts: int = 3, backoff_seconds: float = 0.5) -> tuple[int, dict[str, Any]]:
    """POST ``body`` (JSON) to ``base_url + path``; returns the status and the JSON answer.

    Raises :class:`~sidecar.errors.PublishError` on a refusal at once, and after ``attempts`` tries on no
    answer or a retriable one (waiting ``backoff_seconds``, doubling, in between).
    """
    url = base_url.rstrip("/") + path
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    last = ""
    status: int | None = None
    for attempt in range(max(1, attempts)):
        if attempt:
            time.sleep(backoff_seconds * 2 ** (attempt - 1))
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = response.read()
                return response.status, _json_object(answer)
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, exc.read()
            refused = refusal(status, answer, url, what, len(body))
            if refused is not None:
                raise refused from None
            last = f"{status}: {(_error_of(answer)[0] or exc.reason)}"
        except (urllib.error.URLError, OSError) as exc:
            status, last = None, f"no answer ({getattr(exc, 'reason', exc)})"
    raise PublishError(f"POST {url} ({what}): {last} after {attempts} attempts; is the control room running?",
                       status=status)


def _json_object(answer: bytes) -> dict[str, Any]:
    try:
        data = json.loads(answer or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
