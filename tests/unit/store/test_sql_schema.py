"""The SQL store's schema on both backends: made by the shipped Alembic revisions at start, equal to the
tables the queries are written against, refused with one line when a newer version wrote it; and the
listing's pages are index range scans (no sort, no full scan), which is what keeps their cost flat.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlcases import window

import sidecar.store.sql
from sidecar.errors import StoreVersionError
from sidecar.store.base import ReportQuery
from sidecar.store.sql import SqlStore, head_revision, parse_url
from sidecar.store.sql.migrate import current_revision, upgrade
from sidecar.store.sql.reports import listing_statement
from sidecar.store.sql.schema import metadata

pytestmark = pytest.mark.timeout(120)


async def _execute(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(parse_url(url))
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_start_creates_the_schema_at_head_and_a_second_start_changes_nothing(store_url: str) -> None:
    async with SqlStore(store_url) as store:
        assert await current_revision(store._started().writer) == head_revision() == "0001"
        await store.put_reports([])
    async with SqlStore(store_url) as store:  # the upgrade of a database at head is a no-op
        assert await current_revision(store._started().writer) == head_revision()


async def test_the_revisions_make_exactly_the_tables_the_queries_use(store_url: str) -> None:
    async with SqlStore(store_url) as store, store._started().writer.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
    assert diff == []


NEXT_REVISION = '''"""A revision after the package's head, as a later version would ship it."""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tokens", sa.Column("last_used_at", sa.DateTime(timezone=True)))
    op.create_index("ix_reports_pod", "reports", ["pod", "time", "id"])


def downgrade() -> None:
    op.drop_index("ix_reports_pod", "reports")
    op.drop_column("tokens", "last_used_at")
'''


async def test_an_upgrade_keeps_the_data_and_this_version_then_refuses_the_newer_store_with_one_line(
        store_url: str, tmp_path: Path) -> None:
    later = tmp_path / "migrations"  # the package's revisions and one more: what a newer version ships
    shutil.copytree(Path(sidecar.store.sql.__file__).parent / "migrations", later,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (later / "versions" / "0002_token_use.py").write_text(NEXT_REVISION)
    async with SqlStore(store_url) as store:
        await store.put_reports([window("churn", 5)])
        await store.create_token("read")

    engine = create_async_engine(parse_url(store_url))
    try:
        assert await upgrade(engine, location=str(later)) == ("0001", "0002")
        assert await upgrade(engine, location=str(later)) == ("0002", "0002")  # at head: nothing to do
    finally:
        await engine.dispose()
    assert await _execute(store_url, "SELECT count(*) FROM reports") == [(1,)]
    assert await _execute(store_url, "SELECT count(last_used_at) FROM tokens") == [(0,)]  # the new column

    with pytest.raises(StoreVersionError) as caught:
        await SqlStore(store_url).start()
    message = str(caught.value)
    assert "\n" not in message and "'0002'" in message and "head '0001'" in message
    # Refused before anything changed: the store is still at the newer revision, its data untouched.
    assert await _execute(store_url, "SELECT version_num FROM alembic_version") == [("0002",)]
    assert await _execute(store_url, "SELECT count(*) FROM reports") == [(1,)]


async def test_a_revision_no_version_ships_is_refused_too(store_url: str) -> None:
    async with SqlStore(store_url):
        pass
    await _execute(store_url, "UPDATE alembic_version SET version_num = 'f00d'")
    with pytest.raises(StoreVersionError, match="'f00d', newer than this version"):
        await SqlStore(store_url).start()


@pytest.mark.parametrize("query", [
    ReportQuery(), ReportQuery(model="m"), ReportQuery(model="m", contract="c"),
    ReportQuery(model="m", status="critical"), ReportQuery(status="warning"), ReportQuery(source="batch"),
    ReportQuery(monitor="nightly"),
], ids=lambda q: "+".join(k for k, v in q.model_dump().items() if v is not None) or "all")
async def test_every_listing_page_is_an_index_range_scan(store_url: str, query: ReportQuery) -> None:
    """SQLite: no temporary B-tree (sort) and one of the listing's indexes. PostgreSQL, whose planner would
    rightly scan a tiny table: with sorts and sequential scans priced out, the plan still has no Sort node,
    so an index delivers the order."""
    async with SqlStore(store_url) as store:
        for cursor in (None, "MTc2NzIyNTkwMDAwMDAwMHxhMWIy"):
            stmt = listing_statement(query, 50, cursor)
            async with store._started().reader.connect() as conn:
                compiled = stmt.compile(conn.sync_engine)
                if store.dialect == "sqlite":
                    args = tuple(compiled.params[k] for k in compiled.positiontup or ())
                    rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), args)
                    plan = " | ".join(str(r[-1]) for r in rows)
                    assert "USE TEMP B-TREE" not in plan, plan
                    assert "INDEX ix_reports_" in plan, plan
                else:
                    await conn.exec_driver_sql("SET enable_seqscan = off")
                    await conn.exec_driver_sql("SET enable_sort = off")
                    args = tuple(compiled.params[k] for k in compiled.positiontup or ())
                    rows = await conn.exec_driver_sql("EXPLAIN " + str(compiled), args)
                    plan = " | ".join(str(r[0]) for r in rows)
                    assert "Sort" not in plan and "Index" in plan, plan
