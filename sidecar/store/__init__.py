"""Persistent stores (SQLite by default): validation reports and production metric series."""

from sidecar.store.metrics import MetricStore

__all__ = ["MetricStore"]
