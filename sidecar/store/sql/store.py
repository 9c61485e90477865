""":class:`SqlStore`: the control room's :class:`~sidecar.store.base.ControlStore` over SQLite or PostgreSQL.

The class owns the connections and the transactions; the statements live in :mod:`.reports`,
:mod:`.metrics` and, for tokens, here. On SQLite every write goes through one connection behind an
:class:`asyncio.Lock` (SQLite has one writer per file; queuing in the process is cheaper than every writer
retrying on ``SQLITE_BUSY``), while reads use a pool beside it. On PostgreSQL writes run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.report.event import ReportEvent
from sidecar.store.base import (
    SCOPE_RANK,
    ControlStore,
    MetricKind,
    MetricPoint,
    ReportPage,
    ReportQuery,
    Scope,
    SeriesPoint,
    StoredReport,
    TokenInfo,
)
from sidecar.store.sql import metrics as metric_queries
from sidecar.store.sql import reports as report_queries
from sidecar.store.sql import tokens as token_codec
from sidecar.store.sql.engine import Engines, open_engines, parse_url
from sidecar.store.sql.migrate import upgrade
from sidecar.store.sql.schema import tokens

__all__ = ["DEFAULT_SERIES_LIMIT", "SqlStore"]

#: Points of a series (or of each metric series) returned when the caller does not say: a chart's worth (3.5
#: days of 5-minute windows), so a default request costs the same however long the history is.
DEFAULT_SERIES_LIMIT = 1000


def _now() -> datetime:
    return datetime.now(UTC)


class SqlStore:
    """The control room's store at ``url``: ``sqlite:////abs/path`` or ``postgresql+asyncpg://...``.

    An async context manager; :meth:`start` creates or migrates the schema (refusing one from a newer
    version with :class:`~sidecar.errors.StoreVersionError`), :meth:`stop` closes it and may be called twice.

    Examples
    --------
    >>> import asyncio, tempfile
    >>> from sidecar.report.model import ValidationReport
    >>> async def demo(url):
    ...     async with SqlStore(url) as store:
    ...         event = ReportEvent(model="churn", report=ValidationReport(contract="inputs"))
    ...         first = await store.put_reports([event])
    ...         again = await store.put_reports([event])
    ...         page = await store.list_reports(ReportQuery(model="churn"))
    ...         return first[0][1], again[0][1], [h.contract for h in page.items]
    >>> asyncio.run(demo(f"sqlite:///{tempfile.mkdtemp()}/control.sqlite"))
    (True, False, ['inputs'])
    """

    def __init__(self, url: str, *, clock: Callable[[], datetime] = _now, echo: bool = False) -> None:
        self.url = parse_url(url)  # refuses a bad URL at once, before anything starts
        self._clock = clock
        self._echo = echo
        self._engines: Engines | None = None
        self._write_lock: contextlib.AbstractAsyncContextManager[Any] = contextlib.nullcontext()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return "sqlite" if self.url.drivername.startswith("sqlite") else "postgresql"

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the database (a SQLite file's directory is created) and create or migrate the schema."""
        if self._engines is not None:
            return
        if self.dialect == "sqlite":
            Path(self.url.database or "").parent.mkdir(parents=True, exist_ok=True)
        engines = open_engines(self.url.render_as_string(hide_password=False), echo=self._echo)
        try:
            await upgrade(engines.writer)
        except BaseException:
            await engines.dispose()
            raise
        self._engines = engines
        self._write_lock = asyncio.Lock() if engines.serialized_writes else contextlib.nullcontext()

    async def stop(self) -> None:
        """Close every connection; safe to call twice."""
        engines, self._engines = self._engines, None
        if engines is not None:
            await engines.dispose()

    async def __aenter__(self) -> SqlStore:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def _started(self) -> Engines:
        if self._engines is None:
            raise RuntimeError("SqlStore is not started: await store.start() or use `async with store`")
        return self._engines

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        engines = self._started()
        async with self._write_lock, engines.writer.begin() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._started().reader.connect() as conn:
            yield conn

    # -- reports --------------------------------------------------------------------------------------------
    async def put_reports(self, events: Sequence[ReportEvent], *, raw: Sequence[bytes] | None = None
                          ) -> list[tuple[str, bool]]:
        """Store reports in one transaction: ``(id, created)`` each, in order. An id stored already is
        replaced only by a report made later (see :mod:`sidecar.store.sql.reports`).

        ``raw``, when given, holds the JSON text each event was parsed from (a Kafka record's value, a POST
        body): it is kept as the body, so the report is not serialized again (about a third of the cost of
        a put of 68-feature reports). It must be what ``ReportEvent.model_validate_json`` read.
        """
        if raw is not None and len(raw) != len(events):
            raise ValueError(f"raw must hold one JSON text per event: {len(raw)} for {len(events)} events")
        if not events:
            return []
        async with self._write() as conn:
            return await report_queries.put_reports(conn, events, self._clock(), raw)

    async def list_reports(self, query: ReportQuery, *, limit: int = 50, cursor: str | None = None) -> ReportPage:
        """Headers newest first by ``(time, id)``; ``since`` is inclusive, ``until`` exclusive. Raises
        :class:`~sidecar.errors.InvalidCursorError` for a cursor that is not a ``next_cursor``."""
        async with self._read() as conn:
            return await report_queries.list_reports(conn, query, limit, cursor)

    async def get_report(self, report_id: str) -> StoredReport | None:
        """One report with its header, or ``None``."""
        async with self._read() as conn:
            return await report_queries.get_report(conn, report_id)

    async def models(self) -> list[dict[str, Any]]:
        """``[{model, status, contracts: [{contract, status, time, id}]}]`` by model and contract name;
        ``status`` is the worst of the contracts' newest reports."""
        async with self._read() as conn:
            return await report_queries.models(conn)

    async def series(self, model: str, contract: str, check: str, column: str | None, *,
                     since: datetime | None = None, until: datetime | None = None,
                     limit: int | None = DEFAULT_SERIES_LIMIT) -> list[SeriesPoint]:
        """One check's values on one column (``None`` or ``"*"``: table level), the newest ``limit`` points
        (``None``: every one, a whole history: for exports, not for a page), oldest first. The points of
        several pods' reports at one time come in report id order."""
        async with self._read() as conn:
            return await report_queries.series(conn, model, contract, check, column, since=since, until=until,
                                               limit=limit)

    async def delete_reports_before(self, cutoff: datetime, *, batch: int = 1000) -> int:
        """Retention: delete reports before ``cutoff`` ``batch`` at a time, each batch its own transaction
        (ingest's writes go between batches); how many were deleted."""
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        total = 0
        while True:
            async with self._write() as conn:
                deleted = await report_queries.delete_before(conn, cutoff, batch)
            total += deleted
            if deleted < batch:
                return total

    # -- production metrics ---------------------------------------------------------------------------------
    async def put_metric_points(self, model: str, metric: str, kind: MetricKind,
                                points: Sequence[MetricPoint]) -> int:
        """Upsert points by (model, metric, kind, time); how many distinct times were written."""
        async with self._write() as conn:
            return await metric_queries.put_metric_points(conn, model, metric, kind, points)

    async def metric_points(self, model: str, metric: str | None = None, kind: MetricKind | None = None, *,
                            since: datetime | None = None, until: datetime | None = None,
                            limit: int | None = DEFAULT_SERIES_LIMIT) -> list[dict[str, Any]]:
        """Series ``{model, metric, kind, points: [{time, value}]}``, each its newest ``limit`` points
        (``None``: all) oldest first."""
        async with self._read() as conn:
            return await metric_queries.metric_points_of(conn, model, metric, kind, since=since, until=until,
                                                         limit=limit)

    # -- tokens ---------------------------------------------------------------------------------------------
    async def create_token(self, scope: Scope, name: str | None = None) -> tuple[str, TokenInfo]:
        """A new token (returned once, never stored) and what is stored of it."""
        if scope not in SCOPE_RANK:
            raise ValueError(f"scope must be one of {sorted(SCOPE_RANK, key=SCOPE_RANK.__getitem__)}, got {scope!r}")
        token, token_id, salt, digest = token_codec.new_token()
        info = TokenInfo(id=token_id, name=name, scope=scope, created_at=self._clock())
        async with self._write() as conn:
            await conn.execute(tokens.insert().values(id=token_id, name=name, scope=scope, salt=salt, hash=digest,
                                                      created_at=info.created_at))
        return token, info

    async def check_token(self, token: str) -> TokenInfo | None:
        """The live token ``token`` is, else ``None`` (malformed, unknown, wrong secret or revoked)."""
        parsed = token_codec.parse_token(token)
        if parsed is None:
            return None
        token_id, secret = parsed
        async with self._read() as conn:
            row = (await conn.execute(select(tokens).where(tokens.c.id == token_id))).first()
        if row is None:
            token_codec.verify(secret, b"0" * 16, b"")  # the same work as a known id: timing tells nothing
            return None
        if not token_codec.verify(secret, row.salt, row.hash) or row.revoked_at is not None:
            return None
        return _token_info(row)

    async def list_tokens(self) -> list[TokenInfo]:
        """Every token, revoked ones included, oldest first."""
        async with self._read() as conn:
            rows = await conn.execute(select(tokens).order_by(tokens.c.created_at, tokens.c.id))
            return [_token_info(row) for row in rows]

    async def revoke_token(self, token_id: str) -> bool:
        """Revoke by id (revoking twice keeps the first time); False when there is no such token."""
        async with self._write() as conn:
            found = (await conn.execute(select(tokens.c.revoked_at).where(tokens.c.id == token_id))).first()
            if found is None:
                return False
            if found.revoked_at is None:
                await conn.execute(update(tokens).where(tokens.c.id == token_id).values(revoked_at=self._clock()))
            return True


def _token_info(row: Any) -> TokenInfo:
    return TokenInfo(id=row.id, name=row.name, scope=row.scope, created_at=row.created_at, revoked_at=row.revoked_at)


if TYPE_CHECKING:  # mypy checks that SqlStore is the Protocol (the store suite checks it at run time)
    _store: ControlStore = SqlStore("sqlite:////tmp/control.sqlite")
