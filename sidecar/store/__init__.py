"""Persistent stores under one directory (``store.path``): validation reports as JSON lines and
production metric series in SQLite; :class:`StoreDirectory` says where each lives."""

from sidecar.store.directory import PRODUCTION_METRICS_FILE, StoreDirectory
from sidecar.store.reports import ReportStore
from sidecar.store.series import MetricStore

__all__ = ["PRODUCTION_METRICS_FILE", "MetricStore", "ReportStore", "StoreDirectory"]
