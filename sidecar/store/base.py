"""What a store is, whatever keeps it: :class:`ReportStore` and :class:`MetricStore`.

The sidecar, the joiner and batch code write through these interfaces and the dashboard and the REST API
read through them, so a backend is a choice of deployment, not of code: today the pod's directory store
(:class:`~sidecar.store.reports.JsonlReportStore`, :class:`~sidecar.store.series.SqliteMetricStore`, under
:class:`~sidecar.store.directory.StoreDirectory`), and the control room's SQL store next. Both are checked
by one behavioural suite (``tests/unit/store/test_conformance.py``), which a new backend joins by adding
itself to the suite's fixture.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import Protocol, runtime_checkable

from sidecar.report.model import ValidationReport

__all__ = ["MetricStore", "ReportStore"]


@runtime_checkable
class ReportStore(Protocol):
    """Validation reports of one or many models, by (model, contract)."""

    def append(self, model: str, report: ValidationReport) -> object:
        """Store ``report`` of ``model`` (under ``report.contract``); what is returned says where, if anything."""
        ...

    def read(self, model: str, contract: str, limit: int | None = None) -> list[ValidationReport]:
        """The reports of one contract, oldest first; only the newest ``limit`` when given."""
        ...


@runtime_checkable
class MetricStore(Protocol):
    """Production metric series: points ``(time, value)`` by (model, metric); a point written again at the same
    time replaces the first (idempotent backfills). Open it with ``with``; it closes on exit."""

    def write(self, model: str, metric: str, points: Iterable[tuple[datetime, float]]) -> None:
        """Insert or replace points."""
        ...

    def series(self, model: str, metric: str) -> list[tuple[datetime, float]]:
        """Every point of one series, oldest first."""
        ...

    def latest(self, model: str) -> dict[str, tuple[datetime, float]]:
        """The newest point of each of ``model``'s series: ``{metric: (time, value)}``."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...

    def __enter__(self) -> MetricStore: ...

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        ...
