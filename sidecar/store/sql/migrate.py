"""The schema's lifecycle: create or upgrade it at start with the Alembic revisions shipped in the package.

``sidecar serve`` runs :func:`upgrade` every time it starts, so an operator never runs a migration tool;
the revisions live in ``sidecar/store/sql/migrations/versions`` and are the only way the schema changes. A
database at a revision this package does not know was written by a newer version: it is refused with one
line (:class:`~sidecar.errors.StoreVersionError`) before anything is read or changed, because an older
reader could misread it and an older migration could damage it.
"""

from __future__ import annotations

from functools import cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.errors import StoreVersionError

__all__ = ["SCRIPT_LOCATION", "current_revision", "head_revision", "upgrade"]

#: Where Alembic finds the revisions: inside the installed package.
SCRIPT_LOCATION = "sidecar.store.sql:migrations"
# Two control rooms starting against one PostgreSQL take turns migrating (a transaction-scoped advisory lock;
# the number is arbitrary, shared by every version of the package). SQLite's writer lock does the same.
_PG_MIGRATION_LOCK = 0x6D68_7363


def _config(location: str) -> Config:
    config = Config()
    config.set_main_option("script_location", location)
    return config


@cache
def _known(location: str) -> tuple[str, frozenset[str]]:
    script = ScriptDirectory.from_config(_config(location))
    head = script.get_current_head()
    assert head is not None, "the package ships at least one revision"
    return head, frozenset(r.revision for r in script.walk_revisions())


def head_revision() -> str:
    """The newest revision this package ships."""
    return _known(SCRIPT_LOCATION)[0]


def _current(conn: Connection) -> str | None:
    heads = MigrationContext.configure(conn).get_current_heads()
    return heads[0] if heads else None


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's revision (``None``: no schema yet)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


def _upgrade(conn: Connection, location: str) -> tuple[str | None, str]:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    head, known = _known(location)
    before = _current(conn)
    if before is not None and before not in known:
        raise StoreVersionError(
            f"the store's schema is at revision {before!r}, newer than this version of model-health-sidecar "
            f"knows (head {head!r}): upgrade the sidecar, or point store.url at another database")
    if before != head:
        config = _config(location)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, head


async def upgrade(engine: AsyncEngine, *, location: str = SCRIPT_LOCATION) -> tuple[str | None, str]:
    """Create the schema or bring it to the head revision in one transaction; ``(before, after)``.

    Raises :class:`~sidecar.errors.StoreVersionError` when the database's revision is unknown here.
    ``location`` is where the revisions are (the package's own; tests hand it a copy with one more).
    """
    async with engine.begin() as conn:
        return await conn.run_sync(_upgrade, location)
