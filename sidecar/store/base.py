"""What a store is, whatever keeps it: :class:`ReportStore` and :class:`MetricStore`.

The sidecar, the joiner and batch code write through these interfaces and the dashboard and the REST API
read through them, so a backend is a choice of deployment, not of code: today the pod's directory store
(:class:`~sidecar.store.reports.JsonlReportStore`, :class:`~sidecar.store.series.SqliteMetricStore`, under
:class:`~sidecar.store.directory.StoreDirectory`), and the control room's SQL store
(:class:`~sidecar.store.sql.SqlStore`, the :class:`ControlStore`; :class:`~sidecar.store.sql.BlockingSqlStore`
behind the two synchronous Protocols). They are checked by one behavioural suite
(``tests/unit/store/test_conformance.py``), which a new backend joins by adding itself to the suite's
fixture; the :class:`ControlStore` has its own, run on SQLite and PostgreSQL (``tests/unit/store/test_sql_*``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sidecar.checks.result import Status
from sidecar.report.event import ReportEvent
from sidecar.report.model import ValidationReport

__all__ = [
    "SCOPE_RANK",
    "ControlStore",
    "MetricEvent",
    "MetricKind",
    "MetricPoint",
    "MetricStore",
    "ReportHeader",
    "ReportPage",
    "ReportQuery",
    "ReportStore",
    "Scope",
    "SeriesPoint",
    "StoredReport",
    "TokenInfo",
]


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


# -- the control room's store (``sidecar serve``): every pod's reports, series, metric points, tokens ----------
Scope = Literal["read", "write", "admin"]
#: Scopes nest: admin includes write, write includes read.
SCOPE_RANK: dict[str, int] = {"read": 0, "write": 1, "admin": 2}
MetricKind = Literal["realized", "estimated"]


class ReportHeader(BaseModel):
    """A stored report without its rows: what listings, the dashboard's table and ``GET /reports`` show.

    ``time`` is the window's end, else the report's ``created_at``; listings are ordered by ``(time, id)``.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    model: str
    contract: str
    contract_version: int | None
    source: str
    pod: str | None
    monitor: str | None
    time: datetime
    window_start: datetime | None
    window_end: datetime | None
    created_at: datetime
    partial: bool
    status: Status
    row_count: dict[str, Any]
    counts: dict[str, int]


class StoredReport(ReportHeader):
    """A header and the report exactly as it was sent (``GET /reports/{id}``)."""

    report: ValidationReport


class ReportQuery(BaseModel):
    """Filters of a listing; every field narrows it, ``None`` does not filter. Values are compared for
    equality (no patterns); the time range is half-open on ``time``: ``since <= time < until``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = None
    contract: str | None = None
    status: Status | None = None
    source: str | None = None
    monitor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class ReportPage(BaseModel):
    """One page of a listing, newest first; ``next_cursor`` (opaque) continues it, ``None`` on the last page."""

    items: list[ReportHeader]
    next_cursor: str | None


class SeriesPoint(BaseModel):
    """One window's (or batch's) value of one check on one column: ``GET /series``."""

    time: datetime
    value: float | None
    status: Status
    report_id: str


class MetricPoint(BaseModel):
    """A production metric's value at one time."""

    time: datetime
    value: float


class MetricEvent(BaseModel):
    """Points of one production metric series on their way to the control room: the body of
    ``POST /api/v1/metrics`` and of a ``metrics_topic`` record (``schemas/metric-event.schema.json``).

    Stored by upsert on (model, metric, kind, time), so the same event delivered twice is stored once. A time
    without a zone is UTC; values are finite.

    >>> e = MetricEvent(model="churn", metric="accuracy", points=[{"time": "2026-01-01T00:00:00", "value": 0.9}])
    >>> e.kind, e.points[0].time.isoformat()
    ('realized', '2026-01-01T00:00:00+00:00')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1, max_length=200)
    metric: str = Field(min_length=1, max_length=200)
    kind: MetricKind = "realized"
    points: list[MetricPoint] = Field(min_length=1, max_length=100_000)

    @field_validator("points")
    @classmethod
    def _finite_and_zoned(cls, points: list[MetricPoint]) -> list[MetricPoint]:
        out = []
        for i, p in enumerate(points):
            if not math.isfinite(p.value):
                raise ValueError(f"points.{i}.value must be finite, got {p.value}")
            out.append(p if p.time.tzinfo is not None else MetricPoint(time=p.time.replace(tzinfo=UTC),
                                                                      value=p.value))
        return out


class TokenInfo(BaseModel):
    """What is stored of a token: never the token itself, only a salted hash of it."""

    id: str
    name: str | None
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None = None


@runtime_checkable
class ControlStore(Protocol):
    """The control room's store: one per cluster, shared by every model's pods, joiners and batch jobs.

    Async (the control room is one aiohttp process). ``put_reports`` is idempotent by report id: a report
    delivered again replaces nothing that is equal and is reported as not created. Listings are keyset
    paginated (``(time, id) < cursor``), so walking every page while reports arrive yields each old report
    once and no page costs more with a longer history. Series and metric points return at most ``limit``
    points (the newest), so a default request is bounded too.
    """

    async def start(self) -> None:
        """Open the database, create or migrate the schema (refusing one written by a newer version)."""
        ...

    async def stop(self) -> None:
        """Close the connections; safe to call twice."""
        ...

    async def put_reports(self, events: Sequence[ReportEvent], *, raw: Sequence[bytes] | None = None
                          ) -> list[tuple[str, bool]]:
        """Store reports in one transaction: ``(id, created)`` for each, in order (``created`` False when the
        id was stored already, or came earlier in ``events``). An id stored already is replaced (header, body
        and series together) only by a report with a later ``created_at`` (a fleet window re-judged); an equal
        or older one (a redelivery) changes nothing. ``raw`` (optional): the JSON each event was parsed from,
        kept as its body so the report is not serialized again."""
        ...

    async def list_reports(self, query: ReportQuery, *, limit: int = 50, cursor: str | None = None) -> ReportPage:
        """Headers newest first by ``(time, id)``; ``cursor`` is a page's ``next_cursor``. ``limit`` is 1..500
        (``ValueError`` otherwise); a cursor that is not a ``next_cursor`` raises
        :class:`~sidecar.errors.InvalidCursorError` (a ``ValueError``)."""
        ...

    async def get_report(self, report_id: str) -> StoredReport | None:
        """One report with its header, or ``None``."""
        ...

    async def models(self) -> list[dict[str, Any]]:
        """Per model: worst current status and, per contract, the newest report's status, time and id:
        ``[{"model", "status", "contracts": [{"contract", "status", "time", "id"}]}]``, sorted by name."""
        ...

    async def series(self, model: str, contract: str, check: str, column: str | None, *,
                     since: datetime | None = None, until: datetime | None = None,
                     limit: int | None = 1000) -> list[SeriesPoint]:
        """One check's values on one column (``None`` or ``"*"``: table level) over time: the newest ``limit``
        points (``None``: all of them, for exports), oldest first."""
        ...

    async def put_metric_points(self, model: str, metric: str, kind: MetricKind,
                                points: Sequence[MetricPoint]) -> int:
        """Upsert points by (model, metric, kind, time); returns how many were written."""
        ...

    async def metric_points(self, model: str, metric: str | None = None, kind: MetricKind | None = None, *,
                            since: datetime | None = None, until: datetime | None = None,
                            limit: int | None = 1000) -> list[dict[str, Any]]:
        """Series ``{model, metric, kind, points: [{time, value}]}`` by (metric, kind), each its newest
        ``limit`` points (``None``: all) oldest first; a series with no point in the range is left out."""
        ...

    async def create_token(self, scope: Scope, name: str | None = None) -> tuple[str, TokenInfo]:
        """A new random token (returned once, never stored) and what is stored of it."""
        ...

    async def check_token(self, token: str) -> TokenInfo | None:
        """The live token matching ``token`` (constant-time comparison of salted hashes), else ``None``."""
        ...

    async def list_tokens(self) -> list[TokenInfo]:
        """Every token, revoked ones included, oldest first."""
        ...

    async def revoke_token(self, token_id: str) -> bool:
        """Revoke by id; False when there is no such token."""
        ...

    async def delete_reports_before(self, cutoff: datetime, *, batch: int = 1000) -> int:
        """Retention: delete reports whose ``time`` is before ``cutoff`` in batches of ``batch`` (each its own
        transaction, so a long backlog never holds a lock for long); returns how many were deleted."""
        ...
