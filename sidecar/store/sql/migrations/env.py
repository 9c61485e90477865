"""Alembic's environment for the control room's store.

The store runs its migrations itself (:func:`sidecar.store.sql.migrate.upgrade`), handing this module an
open connection in ``config.attributes["connection"]``. Run by hand (``alembic -x url=... revision
--autogenerate -m ...`` with ``script_location = sidecar.store.sql:migrations``), it opens ``url`` itself so
a new revision can be generated against a database at head.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from sidecar.store.sql.engine import parse_url
from sidecar.store.sql.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite changes a table by copying it ("batch" mode); PostgreSQL alters it in place.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_url(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(parse_url(url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    asyncio.run(_run_url(context.get_x_argument(as_dictionary=True)["url"]))
