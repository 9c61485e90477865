"""Shared fixtures: deterministic reference and drifted frames (built by :func:`frames.make_frame`), and the
control room's store on SQLite and on the session's real PostgreSQL (``store_url``, ``control_store``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from frames import make_frame
from hypothesis import settings
from postgres import PostgresServer

if TYPE_CHECKING:
    from sidecar.store.sql import SqlStore

# Hypothesis fails an example that takes over 200 ms by default: a timing assertion, which flakes when two
# cores are shared with a broker. Speed lives in benchmarks/; property tests check properties only.
settings.register_profile("sidecar", deadline=None)
settings.load_profile("sidecar")


@pytest.fixture
def reference() -> pd.DataFrame:
    return make_frame(5000, seed=0)


@pytest.fixture
def current() -> pd.DataFrame:
    """Same distribution, different sample."""
    return make_frame(5000, seed=1)


@pytest.fixture(autouse=True)
def _stock_aiokafka() -> Iterator[None]:
    """A sidecar started in-process installs ``kafka.fast_io`` for the whole process; put aiokafka's own
    classes back after every test so no test depends on which ran before it."""
    yield
    from sidecar.kafka import fastio

    fastio.uninstall()


# -- the control room's store: one suite, two backends (SQLite here, a real PostgreSQL the session starts) -----
POSTGRES_FIXTURES = {"postgres_server", "postgres_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test on the session's PostgreSQL ``integration`` so ``-m "not integration"`` skips them."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        uses_pg = callspec is not None and callspec.params.get("store_url") == "postgresql"
        if POSTGRES_FIXTURES & names or uses_pg:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's one PostgreSQL (``tests/postgres.py``): started on first use, stopped and removed at the
    end. ``POSTGRES_TEST_URL`` names a server to use instead."""
    import os

    with PostgresServer(os.environ.get("POSTGRES_TEST_URL")) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL (``postgresql+asyncpg://``), dropped afterwards."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a fresh, empty control-room store on each backend: a SQLite file, a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store')}/control.sqlite"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def control_store(store_url: str) -> AsyncIterator[SqlStore]:
    """A started :class:`sidecar.store.sql.SqlStore` on a fresh database of each backend; stopped after."""
    from sidecar.store.sql import SqlStore

    async with SqlStore(store_url) as store:
        yield store
