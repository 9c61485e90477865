"""The store directory: ``store.path`` holds the window reports and the production-metric database.

Layout::

    <store.path>/
        production-metrics.sqlite     production metric series (track_production_metrics)
        <model>/<contract>.jsonl      window and batch reports, one JSON line each

The sidecar and batch code build it from the same setting (``store.path``, ``SIDECAR_STORE__PATH``), so
they agree on where everything is: what a batch job records, the sidecar exports.
"""

from __future__ import annotations

from pathlib import Path

from sidecar.config import StoreSettings
from sidecar.store.reports import ReportStore
from sidecar.store.series import MetricStore

__all__ = ["PRODUCTION_METRICS_FILE", "StoreDirectory"]

#: The production-metric database's file name inside the store directory.
PRODUCTION_METRICS_FILE = "production-metrics.sqlite"


class StoreDirectory:
    """The files of one store directory, from validated :class:`~sidecar.config.StoreSettings`.

    Nothing is created until something is written (reports on the first window, the database on the first
    ``track_production_metrics``).

    Examples
    --------
    >>> from sidecar.config import StoreSettings
    >>> store = StoreDirectory(StoreSettings(path="/srv/model-health"))
    >>> str(store.production_metrics_path)
    '/srv/model-health/production-metrics.sqlite'
    >>> str(store.reports.path("churn", "churn_inputs"))
    '/srv/model-health/churn/churn_inputs.jsonl'
    """

    def __init__(self, settings: StoreSettings) -> None:
        self.path = Path(settings.path)
        self.reports = ReportStore(self.path)

    @property
    def production_metrics_path(self) -> Path:
        """The SQLite database of production metric series."""
        return self.path / PRODUCTION_METRICS_FILE

    def production_metrics(self) -> MetricStore:
        """Open the production-metric database (created, with the directory, if missing); close it after use."""
        return MetricStore(self.production_metrics_path)
