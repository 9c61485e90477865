"""The store directory: ``store.path`` holds the window reports and the production-metric database.

Layout::

    <store.path>/
        production-metrics.sqlite     production metric series (track_production_metrics)
        <model>/<contract>.jsonl      window and batch reports, one JSON line each

The sidecar and batch code build it from the same setting (``store.path``, ``SIDECAR_STORE__PATH``), so
they agree on where everything is: what a batch job records, the sidecar exports. It takes the path itself,
already validated by the settings (``StoreSettings.path``), so the store knows nothing of the settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from sidecar.store.reports import JsonlReportStore
from sidecar.store.series import SqliteMetricStore

if TYPE_CHECKING:  # mypy checks that the directory backends are the Protocols (tests check it at run time)
    from sidecar.store.base import MetricStore, ReportStore

    _reports: ReportStore = JsonlReportStore(".")
    _metrics: MetricStore = SqliteMetricStore(":memory:")

__all__ = ["PRODUCTION_METRICS_FILE", "StoreDirectory"]

#: The production-metric database's file name inside the store directory.
PRODUCTION_METRICS_FILE = "production-metrics.sqlite"


class StoreDirectory:
    """The files of one store directory.

    Nothing is created until something is written (reports on the first window, the database on the first
    ``track_production_metrics``).

    Examples
    --------
    >>> store = StoreDirectory("/srv/model-health")
    >>> str(store.production_metrics_path)
    '/srv/model-health/production-metrics.sqlite'
    >>> str(store.reports.path("churn", "churn_inputs"))
    '/srv/model-health/churn/churn_inputs.jsonl'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.reports = JsonlReportStore(self.path)

    @property
    def production_metrics_path(self) -> Path:
        """The SQLite database of production metric series."""
        return self.path / PRODUCTION_METRICS_FILE

    def production_metrics(self) -> SqliteMetricStore:
        """Open the production-metric database (created, with the directory, if missing); close it after use."""
        return SqliteMetricStore(self.production_metrics_path)
