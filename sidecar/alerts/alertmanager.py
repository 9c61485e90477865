"""Alertmanager's v2 API as an alert sink: POST ``/api/v2/alerts``, re-sent while firing, ``endsAt`` on recovery.

Alertmanager forgets an alert whose ``endsAt`` has passed, so a firing alert is posted with ``endsAt`` a few
resend intervals ahead and posted again every ``resend_seconds``: if the sidecar dies, its alerts resolve by
themselves instead of firing forever. A recovery is posted once with ``endsAt`` = now.

Sending never blocks the caller: :meth:`AlertmanagerSink.submit` records the newest state of each series and
wakes the sender task. While Alertmanager is unreachable the sender retries with backoff; the backlog holds
one entry per series (the newest state wins), so it is bounded by the contract's size, and a resolved alert
not delivered within ``give_up_seconds`` is dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from sidecar.alerts.backoff import Backoff
from sidecar.alerts.events import AlertEvent
from sidecar.logs import RateLimitedLog

__all__ = ["ALERTNAME_PREFIX", "AlertmanagerSink", "alertmanager_alert"]

log = logging.getLogger(__name__)

#: ``alertname`` is this plus the check in CamelCase (``ModelHealthDistribution``).
ALERTNAME_PREFIX = "ModelHealth"
#: A firing alert's ``endsAt`` is this many resend intervals ahead.
ENDS_AFTER_RESENDS = 4

#: Called with (result, count): "sent", "failed" (one failed attempt) or "dropped".
Counter = Callable[[str, int], None]


def alertmanager_alert(event: AlertEvent, *, resend_seconds: float, now: datetime | None = None,
                       generator_url: str | None = None, ended: bool | None = None) -> dict[str, Any]:
    """The Alertmanager v2 alert for ``event``: labels, annotations, ``startsAt``, ``endsAt``.

    ``ended`` (default: the event is a recovery) posts the alert as over (``endsAt`` = now). The severity
    label is that of the episode the alert belongs to: a recovery ends the alert of its previous status.
    """
    d = event.data
    now = now or datetime.now(UTC)
    ended = d.state == "resolved" if ended is None else ended
    severity = (d.status if d.state == "firing" else d.previous_status).value
    alert: dict[str, Any] = {
        "labels": {"alertname": ALERTNAME_PREFIX + "".join(p.title() for p in d.check.split("_")),
                   "severity": severity, "model": d.model, "contract": d.contract, "check": d.check,
                   "feature": d.feature, "source": "sidecar"},
        "annotations": {
            "summary": f"{d.check} {severity} on {d.contract}/{d.feature} of model {d.model}",
            "value": "" if d.value is None else f"{d.value:.6g}",
            "threshold": "" if d.threshold is None else f"{d.threshold:.6g}",
            **({"reason": d.reason} if d.reason else {}),
        },
        "startsAt": d.started_at.isoformat(),
        "endsAt": (now if ended else now + timedelta(seconds=ENDS_AFTER_RESENDS * resend_seconds)).isoformat(),
    }
    if generator_url:
        alert["generatorURL"] = generator_url
    return alert


class AlertmanagerSink:
    """Posts alert events to one Alertmanager. ``start()``/``stop()``; :meth:`submit` never blocks."""

    def __init__(self, url: str, *, resend_seconds: float, count: Counter, timeout_seconds: float = 5.0,
                 give_up_seconds: float = 600.0, generator_url: str | None = None) -> None:
        self.endpoint = url.rstrip("/") + "/api/v2/alerts"
        self.resend_seconds = resend_seconds
        self.timeout_seconds = timeout_seconds
        self.give_up_seconds = give_up_seconds
        self.generator_url = generator_url
        self._count = count
        self._firing: dict[str, AlertEvent] = {}  # series -> its firing event, re-sent every resend_seconds
        # Not yet delivered, per Alertmanager alert (series, severity): the event, whether it ends the
        # alert, and when it was submitted. The newest state of an alert replaces an undelivered older one.
        self._pending: dict[tuple[str, str], tuple[AlertEvent, bool, float]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._backoff = Backoff()
        self._log = RateLimitedLog(log, 60.0)

    @property
    def pending(self) -> int:
        """Series whose newest state is not delivered yet."""
        return len(self._pending)

    def submit(self, event: AlertEvent) -> None:
        """Deliver ``event`` soon. A change of severity ends the alert of the old severity (its labels
        differ, so Alertmanager holds it as another alert) and starts the new one."""
        now = time.monotonic()
        old = self._firing.pop(event.key, None)
        if old is not None and (event.data.state == "resolved" or old.data.status is not event.data.status):
            self._pending[(event.key, old.data.status.value)] = (old, True, now)
        if event.data.state == "firing":
            self._firing[event.key] = event
            self._pending[(event.key, event.data.status.value)] = (event, False, now)
        elif old is None:  # a recovery of an alert this process never saw fire (it restarted): end it anyway
            self._pending[(event.key, event.data.previous_status.value)] = (event, True, now)
        self._wake.set()

    async def start(self) -> None:
        """Start the sender task."""
        if self._task is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_seconds))
            self._task = asyncio.create_task(self._run(), name="alertmanager-sink")

    async def stop(self) -> None:
        """One last attempt at what is pending, then stop. Idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if self._pending:
                with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    await self._post(list(self._pending))
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        next_resend = time.monotonic() + self.resend_seconds
        while True:
            delay = max(next_resend - time.monotonic(), 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()
            if time.monotonic() >= next_resend:
                next_resend = time.monotonic() + self.resend_seconds
                for key, event in self._firing.items():  # keeps endsAt ahead while the alert fires
                    self._pending.setdefault((key, event.data.status.value), (event, False, time.monotonic()))
            if not self._pending:
                continue
            keys = list(self._pending)
            try:
                await self._post(keys)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self._count("failed", 1)
                self._drop_expired()
                wait = self._backoff.next()
                self._log.log(logging.WARNING, "Alertmanager %s unreachable (%s); %d alert(s) pending, retrying "
                              "in %.1fs", self.endpoint, exc or type(exc).__name__, len(self._pending), wait)
                await asyncio.sleep(wait)
                self._wake.set()
            else:
                self._backoff.reset()

    async def _post(self, keys: list[tuple[str, str]]) -> None:
        assert self._session is not None
        batch = {k: self._pending[k] for k in keys if k in self._pending}
        now = datetime.now(UTC)
        body = [alertmanager_alert(event, resend_seconds=self.resend_seconds, now=now, ended=ended,
                                   generator_url=self.generator_url) for event, ended, _ in batch.values()]
        async with self._session.post(self.endpoint, json=body) as resp:
            if resp.status >= 400:
                text = (await resp.text())[:200]
                raise aiohttp.ClientResponseError(resp.request_info, (), status=resp.status, message=text)
        for key, entry in batch.items():
            if self._pending.get(key) is entry:  # a newer event that arrived meanwhile stays pending
                del self._pending[key]
        self._count("sent", len(batch))

    def _drop_expired(self) -> None:
        horizon = time.monotonic() - self.give_up_seconds
        expired = [k for k, (_, ended, at) in self._pending.items() if ended and at < horizon]
        for key in expired:
            del self._pending[key]
        if expired:
            self._count("dropped", len(expired))
            log.error("gave up delivering %d resolved alert(s) to %s after %.0fs", len(expired), self.endpoint,
                      self.give_up_seconds)
