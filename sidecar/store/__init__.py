"""Persistence behind Protocols: what a store is (:mod:`~sidecar.store.base`: :class:`ReportStore`,
:class:`MetricStore`) and the backends that keep one. The pod's directory store (:class:`StoreDirectory`
over ``store.path``) keeps validation reports as JSON lines (:class:`JsonlReportStore`) and production
metric series in SQLite (:class:`SqliteMetricStore`). The control room's SQL store (:mod:`sidecar.store.sql`:
:class:`~sidecar.store.sql.SqlStore`, the async :class:`~sidecar.store.base.ControlStore` over SQLite or
PostgreSQL, and its blocking adapter behind the same two Protocols) is imported from there, so a pod that
never talks to a database never loads SQLAlchemy. The store takes plain paths and URLs and imports no
settings, so every command and batch job can use it.
"""

from sidecar.store.base import MetricStore, ReportStore
from sidecar.store.directory import PRODUCTION_METRICS_FILE, StoreDirectory
from sidecar.store.reports import JsonlReportStore
from sidecar.store.series import SqliteMetricStore

__all__ = [
    "PRODUCTION_METRICS_FILE",
    "JsonlReportStore",
    "MetricStore",
    "ReportStore",
    "SqliteMetricStore",
    "StoreDirectory",
]
