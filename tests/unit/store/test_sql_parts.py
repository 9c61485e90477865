"""The SQL store's parts that need no database server: URLs, the cursor, the token codec, SQLite's session."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlcases import window

from sidecar.errors import ConfigurationError, InvalidCursorError
from sidecar.store.base import ReportQuery
from sidecar.store.sql import SqlStore, parse_url
from sidecar.store.sql import tokens as token_codec
from sidecar.store.sql.cursor import decode_cursor, encode_cursor
from sidecar.store.sql.engine import BUSY_TIMEOUT_MS

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:////var/lib/mh/control.sqlite", "sqlite+aiosqlite:////var/lib/mh/control.sqlite"),
    ("sqlite+aiosqlite:////var/lib/mh/control.sqlite", "sqlite+aiosqlite:////var/lib/mh/control.sqlite"),
    ("postgresql://mh:pw@db:5432/mh", "postgresql+asyncpg://mh:pw@db:5432/mh"),
    ("postgresql+asyncpg://mh@db/mh", "postgresql+asyncpg://mh@db/mh"),
])
def test_urls_name_their_async_drivers(url: str, expected: str) -> None:
    assert parse_url(url).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(("url", "says"), [
    ("sqlite:///relative.sqlite", "absolute path"),
    ("sqlite://", "absolute path"),
    ("sqlite:///:memory:", "absolute path"),
    ("mysql://u@h/db", "unsupported database 'mysql'"),
    ("not a url", "not a database URL"),
])
def test_a_url_the_store_cannot_use_is_refused_naming_it(url: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        SqlStore(url)


def test_a_password_is_never_shown_in_an_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_url("mysql://u:hunter2@h/db")
    assert "hunter2" not in str(caught.value)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)),
       st.from_regex(r"\A[A-Za-z0-9._:-]{1,128}\Z"))
def test_a_cursor_comes_back_as_the_time_and_id_it_was_made_from(time: datetime, report_id: str) -> None:
    assert decode_cursor(encode_cursor(time, report_id)) == (time, report_id)


# base64 of "123|" (no id), "abc|id" (no time), "123|a b" (not an id)
@pytest.mark.parametrize("bad", ["", "!!!", "x" * 300, "MTIzfA", "YWJjfGlk", "MTIzfGEgYg"])
def test_a_cursor_that_is_not_a_next_cursor_is_refused(bad: str) -> None:
    with pytest.raises(InvalidCursorError, match="not a next_cursor"):
        decode_cursor(bad)


def test_tokens_are_random_and_their_hashes_salted() -> None:
    made = [token_codec.new_token() for _ in range(50)]
    assert len({t for t, _, _, _ in made}) == len({i for _, i, _, _ in made}) == len({s for _, _, s, _ in made}) == 50
    token, token_id, salt, digest = made[0]
    parsed = token_codec.parse_token(token)
    assert parsed is not None and parsed[0] == token_id
    assert token_codec.verify(parsed[1], salt, digest)
    assert not token_codec.verify(parsed[1], made[1][2], digest)  # another salt: another hash
    assert token_codec.hash_secret(parsed[1], salt) != token_codec.hash_secret(parsed[1], made[1][2])


async def test_sqlite_runs_in_wal_mode_with_the_busy_timeout(tmp_path: Path) -> None:
    async with SqlStore(f"sqlite:///{tmp_path}/deep/dir/control.sqlite") as store:  # the directory is made
        engines = store._started()
        for engine in (engines.writer, engines.reader):
            async with engine.connect() as conn:
                assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
                assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
                assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert engines.writer.pool.size() == 1  # type: ignore[attr-defined]


async def test_sqlite_writes_queue_on_one_connection_and_reads_go_beside_them(tmp_path: Path) -> None:
    async with SqlStore(f"sqlite:///{tmp_path}/control.sqlite") as store:
        events = [window("churn", m) for m in range(60)]
        writes = asyncio.gather(*(store.put_reports(events[i::6]) for i in range(6)))
        reads = asyncio.gather(*(store.list_reports(ReportQuery(), limit=5) for _ in range(6)))
        written, _ = await asyncio.wait_for(asyncio.gather(writes, reads), timeout=60)
        assert sum(new for result in written for _, new in result) == 60
        assert len((await store.list_reports(ReportQuery(), limit=100)).items) == 60


async def test_two_stores_on_one_sqlite_file_wait_for_each_other_instead_of_failing(tmp_path: Path) -> None:
    """Another process's writer (``sidecar token create`` beside ``serve``) holds the file's write lock
    for a moment; BEGIN IMMEDIATE plus busy_timeout make the other wait, not fail with SQLITE_BUSY."""
    url = f"sqlite:///{tmp_path}/control.sqlite"
    async with SqlStore(url) as a, SqlStore(url) as b:
        async def tokens(store: SqlStore) -> None:
            for _ in range(15):
                await store.create_token("read")

        async def reports(store: SqlStore) -> None:
            for m in range(15):
                await store.put_reports([window("churn", m)])

        await asyncio.wait_for(asyncio.gather(tokens(a), reports(b), tokens(b), reports(a)), timeout=60)
        assert len(await a.list_tokens()) == 30
        assert len((await b.list_reports(ReportQuery())).items) == 15


def test_a_cursor_is_base64_of_the_time_and_the_id() -> None:
    import base64

    t = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=7)
    raw = base64.urlsafe_b64decode(encode_cursor(t, "abc") + "==").decode()
    assert raw == f"{int(t.timestamp()) * 1_000_000 + 7}|abc"
