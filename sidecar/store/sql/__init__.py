"""The control room's SQL store: :class:`SqlStore`, a :class:`~sidecar.store.base.ControlStore` in SQLAlchemy 2
Core (async) over SQLite (``sqlite:////abs/path``, WAL, one writer) or PostgreSQL (``postgresql+asyncpg://``).

The tables are in :mod:`.schema` and change only through the Alembic revisions in ``migrations/``, run by
:meth:`SqlStore.start` (:mod:`.migrate`); the statements are in :mod:`.reports` and :mod:`.metrics`, the
mapping between reports and rows in :mod:`.rows`, tokens in :mod:`.tokens`, the listing's cursor in
:mod:`.cursor`. :class:`BlockingSqlStore` serves the same database to synchronous code behind the pod's
:class:`~sidecar.store.base.ReportStore` and :class:`~sidecar.store.base.MetricStore` Protocols.
"""

from sidecar.store.sql.blocking import BlockingSqlStore
from sidecar.store.sql.engine import parse_url
from sidecar.store.sql.migrate import head_revision
from sidecar.store.sql.store import DEFAULT_SERIES_LIMIT, SqlStore

__all__ = ["DEFAULT_SERIES_LIMIT", "BlockingSqlStore", "SqlStore", "head_revision", "parse_url"]
