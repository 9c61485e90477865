"""Persistent stores under one directory (``store.path``): validation reports as JSON lines and
production metric series in SQLite; :class:`StoreDirectory` says where each lives."""

from sidecar.store.layout import PRODUCTION_METRICS_FILE, StoreDirectory
from sidecar.store.metrics import MetricStore
from sidecar.store.reports import ReportStore

__all__ = ["PRODUCTION_METRICS_FILE", "MetricStore", "ReportStore", "StoreDirectory"]
