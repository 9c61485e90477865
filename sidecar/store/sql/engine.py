"""Connections to the store's database: which driver a URL means, and how SQLite is opened.

SQLite gets two engines over one file. The *writer* holds one connection and every write transaction
begins ``IMMEDIATE`` (it takes the file's write lock before its first read, so a transaction that reads
then writes can never fail half way with ``SQLITE_BUSY`` because another process, say ``sidecar token
create``, wrote in between; it waits up to :data:`BUSY_TIMEOUT_MS` instead). The *readers* share a small
pool and, in WAL mode, never wait for the writer. WAL with ``synchronous=NORMAL`` survives the process
being killed (the ingest's promise: kill -9 loses nothing committed); only a power cut can lose the last
transactions, which Kafka redelivers because their offsets were committed after them, or a client retries.

PostgreSQL (``postgresql+asyncpg://``) needs none of that: one engine, its own locking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from sidecar.errors import ConfigurationError

__all__ = ["BUSY_TIMEOUT_MS", "Engines", "insert_for", "open_engines", "parse_url"]

#: How long a SQLite write waits for another process's write lock before failing.
BUSY_TIMEOUT_MS = 30_000
#: Connections of the SQLite readers' pool (each is a thread in aiosqlite).
SQLITE_READERS = 4

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def parse_url(url: str) -> URL:
    """The async URL for ``url``: ``sqlite:////abs/path`` and ``postgresql://`` name their async drivers.

    Raises :class:`~sidecar.errors.ConfigurationError` for another scheme, an in-memory or relative SQLite
    path (the store outlives the process and must not depend on its working directory).

    Examples
    --------
    >>> parse_url("sqlite:////var/lib/model-health/control.sqlite").render_as_string()
    'sqlite+aiosqlite:////var/lib/model-health/control.sqlite'
    >>> parse_url("postgresql://mh:pw@db:5432/mh").render_as_string(hide_password=True)
    'postgresql+asyncpg://mh:***@db:5432/mh'
    >>> parse_url("sqlite:///relative.sqlite")
    Traceback (most recent call last):
    ...
    sidecar.errors.ConfigurationError: store.url: a SQLite store needs an absolute path \
(sqlite:////var/lib/model-health/control.sqlite), got 'sqlite:///relative.sqlite'
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        shown = url.split("@")[-1] if "@" in url else url  # whatever precedes "@" may be a password
        raise ConfigurationError(f"store.url: not a database URL: {shown!r}") from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ConfigurationError(f"store.url: unsupported database {parsed.drivername!r} in {_safe(parsed)!r}; "
                                 "use sqlite:////absolute/path or postgresql+asyncpg://user:pw@host:5432/db")
    parsed = parsed.set(drivername=driver)
    if driver.startswith("sqlite"):
        path = parsed.database or ""
        if path in ("", ":memory:") or not path.startswith("/"):
            raise ConfigurationError("store.url: a SQLite store needs an absolute path "
                                     f"(sqlite:////var/lib/model-health/control.sqlite), got {url!r}")
    return parsed


def _safe(url: URL) -> str:
    return url.render_as_string(hide_password=True)


@dataclass(frozen=True)
class Engines:
    """Where writes and reads go; the same engine twice on PostgreSQL."""

    writer: AsyncEngine
    reader: AsyncEngine
    dialect: str  # "sqlite" or "postgresql"

    @property
    def serialized_writes(self) -> bool:
        """Whether writes queue in the process (SQLite: one writer connection)."""
        return self.dialect == "sqlite"

    async def dispose(self) -> None:
        """Close every connection."""
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def open_engines(url: str, *, echo: bool = False) -> Engines:
    """Engines for ``url`` (see the module docstring); connections open lazily."""
    parsed = parse_url(url)
    if parsed.drivername.startswith("sqlite"):
        writer = create_async_engine(parsed, echo=echo, pool_size=1, max_overflow=0, pool_timeout=None)
        reader = create_async_engine(parsed, echo=echo, pool_size=SQLITE_READERS, max_overflow=0)
        _sqlite_session(writer, begin="BEGIN IMMEDIATE")
        _sqlite_session(reader, begin="BEGIN")
        return Engines(writer=writer, reader=reader, dialect="sqlite")
    engine = create_async_engine(parsed, echo=echo, pool_size=8, max_overflow=4, pool_pre_ping=True)
    return Engines(writer=engine, reader=engine, dialect="postgresql")


def _sqlite_session(engine: AsyncEngine, *, begin: str) -> None:
    # SQLAlchemy's recipe for SQLite transactions: stop the driver from issuing its own (deferred, late)
    # BEGIN and emit ours when SQLAlchemy begins, so a transaction is exactly what the code says.
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")  # BUSY_TIMEOUT_MS (tests/unit/store/sql checks they agree)
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


def insert_for(conn: AsyncConnection, table: Any) -> Any:
    """An ``INSERT`` that can take ``ON CONFLICT`` (spelt alike by both databases; SQLAlchemy has a class each)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
