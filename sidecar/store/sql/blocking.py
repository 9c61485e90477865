""":class:`BlockingSqlStore`: the SQL store for synchronous code, as a ReportStore and a MetricStore.

Batch code and the pod's own commands speak the synchronous Protocols of :mod:`sidecar.store.base`; this
adapter lets them write to, and read from, a control room's database with the same calls as to a store
directory (and lets the one behavioural suite, ``tests/unit/store/test_conformance.py``, check the SQL
backend too). It runs a :class:`SqlStore` on a private event loop in a daemon thread and waits for each
call; it is for scripts and tests, not for a request path (``sidecar serve`` uses :class:`SqlStore` itself).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from sidecar.report.event import ReportEvent
from sidecar.report.model import ValidationReport
from sidecar.store.base import MetricKind, MetricPoint, ReportQuery
from sidecar.store.sql.reports import MAX_PAGE
from sidecar.store.sql.store import SqlStore

__all__ = ["BlockingSqlStore"]

T = TypeVar("T")


class BlockingSqlStore:
    """A started :class:`SqlStore` at ``url`` behind blocking calls; ``kind`` is the kind of the metric
    points the MetricStore side writes and reads. Close it (or use ``with``)."""

    def __init__(self, url: str, *, kind: MetricKind = "realized") -> None:
        self.kind: MetricKind = kind
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sidecar-sql-store", daemon=True)
        self._thread.start()
        self.store = SqlStore(url)
        try:
            self._call(self.store.start())
        except BaseException:
            self._halt()
            raise

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    # -- ReportStore ----------------------------------------------------------------------------------------
    def append(self, model: str, report: ValidationReport) -> str:
        """Store ``report`` as a batch report of ``model``; returns its id (the same report again: stored once)."""
        ((report_id, _),) = self._call(self.store.put_reports([ReportEvent(model=model, report=report)]))
        return report_id

    def read(self, model: str, contract: str, limit: int | None = None) -> list[ValidationReport]:
        """The reports of one contract, oldest first; only the newest ``limit`` when given."""
        return self._call(self._read(model, contract, limit))

    async def _read(self, model: str, contract: str, limit: int | None) -> list[ValidationReport]:
        ids: list[str] = []
        cursor = None
        query = ReportQuery(model=model, contract=contract)
        while limit is None or len(ids) < limit:
            page = await self.store.list_reports(query, limit=MAX_PAGE, cursor=cursor)
            ids.extend(h.id for h in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        out = []
        for report_id in reversed(ids[:limit] if limit is not None else ids):
            stored = await self.store.get_report(report_id)
            if stored is not None:  # deleted by retention meanwhile
                out.append(stored.report)
        return out

    # -- MetricStore ----------------------------------------------------------------------------------------
    def write(self, model: str, metric: str, points: Iterable[tuple[datetime, float]]) -> None:
        """Insert or replace points."""
        rows = [MetricPoint(time=t, value=v) for t, v in points]
        self._call(self.store.put_metric_points(model, metric, self.kind, rows))

    def series(self, model: str, metric: str) -> list[tuple[datetime, float]]:
        """Every point of one series, oldest first."""
        found = self._call(self.store.metric_points(model, metric, self.kind, limit=None))
        return [(p["time"], p["value"]) for s in found for p in s["points"]]

    def latest(self, model: str) -> dict[str, tuple[datetime, float]]:
        """The newest point of each of ``model``'s series: ``{metric: (time, value)}``."""
        found = self._call(self.store.metric_points(model, kind=self.kind, limit=1))
        return {s["metric"]: (s["points"][0]["time"], s["points"][0]["value"]) for s in found}

    def close(self) -> None:
        """Close the store and its thread; safe to call twice."""
        if self._thread.is_alive():
            try:
                self._call(self.store.stop())
            finally:
                self._halt()

    def _halt(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> BlockingSqlStore:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


if TYPE_CHECKING:  # mypy checks that the adapter is both Protocols (the conformance suite checks at run time)
    from sidecar.store.base import MetricStore, ReportStore

    _reports: ReportStore = BlockingSqlStore("sqlite:////tmp/control.sqlite")
    _metrics: MetricStore = BlockingSqlStore("sqlite:////tmp/control.sqlite")
