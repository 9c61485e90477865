"""The control room's own Prometheus families, on a registry the app owns: HTTP requests by route and status,
their latency, reports stored and deleted by retention.

Routes are labelled by their template (``/api/v1/reports/{id}``), never the raw path, and requests that
match no route share one ``route="unmatched"`` series, so a scanner cannot grow the label set. The fleet's
gauges (``model_health_fleet_*``) join this set in the fleet issue. Built on
:class:`sidecar.metrics.MetricsRegistry` (no ``*_created`` series), like every other process's set.

>>> m = ServeMetrics()
>>> m.observe_request("/api/v1/reports", "GET", 200, 0.003)
>>> m.registry.get_sample_value("model_health_serve_http_requests_total",
...                             {"route": "/api/v1/reports", "method": "GET", "status": "200"})
1.0
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from sidecar.metrics import MetricsRegistry

__all__ = ["UNMATCHED_ROUTE", "ServeMetrics"]

#: The ``route`` label of requests that matched no route (404, 405).
UNMATCHED_ROUTE = "unmatched"

#: Request latency buckets (seconds): API pages are meant to answer in well under 100 ms.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ServeMetrics:
    """``sidecar serve``'s families on ``registry`` (a new :class:`MetricsRegistry` unless one is passed)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else MetricsRegistry()
        r = self.registry
        self.requests = Counter("model_health_serve_http_requests", "HTTP requests answered, by route template, "
                                "method and status.", ("route", "method", "status"), registry=r)
        self.latency = Histogram("model_health_serve_http_request_duration_seconds",
                                 "Time to answer an HTTP request, by route template and method.",
                                 ("route", "method"), buckets=_LATENCY_BUCKETS, registry=r)
        self.reports = Counter("model_health_serve_reports", "Report events taken, by way in (http, kafka) and "
                               "result (stored: new, existing: stored already).", ("via", "result"), registry=r)
        self.retention_deleted = Counter("model_health_serve_retention_deleted_reports",
                                         "Reports deleted by retention (older than retention.days).", registry=r)
        self.retention_failures = Counter("model_health_serve_retention_failures",
                                          "Retention runs that failed (the store was unreachable).", registry=r)
        for via in ("http", "kafka"):
            for result in ("stored", "existing"):
                self.reports.labels(via, result)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def count_reports(self, via: str, stored: int, existing: int) -> None:
        """Count report events taken ``via`` http or kafka: ``stored`` new ones, ``existing`` repeats."""
        if stored:
            self.reports.labels(via, "stored").inc(stored)
        if existing:
            self.reports.labels(via, "existing").inc(existing)
