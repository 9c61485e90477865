"""Persistence behind Protocols: what a store is (:mod:`~sidecar.store.base`: :class:`ReportStore`,
:class:`MetricStore`) and the backends that keep one. The pod's directory store (:class:`StoreDirectory`
over ``store.path``) keeps validation reports as JSON lines (:class:`JsonlReportStore`) and production
metric series in SQLite (:class:`SqliteMetricStore`); the control room's SQL backend implements the same
Protocols. The store takes plain paths and imports no settings, so every command and batch job can use it.
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
