"""Persistent stores (SQLite by default): validation reports and production metric series."""

from sidecar.store.metrics import MetricStore
from sidecar.store.reports import ReportStore

__all__ = ["MetricStore", "ReportStore"]
