"""``sidecar run``, the pod's side: :func:`create_app` builds its aiohttp app (``/metrics``, ``/healthz``,
``/readyz``, ``POST /v1/events``, ``/api/v1/status``) around the streaming service, and :mod:`~sidecar.run.
runner` runs it until SIGTERM. :mod:`~sidecar.run.events` takes the KServe payload logger's CloudEvents over
HTTP; :mod:`~sidecar.run.production_exporter` exports the joiner's production metrics.
"""

from sidecar.run.app import METRICS, PRODUCTION, SERVICE, SETTINGS, create_app

__all__ = ["METRICS", "PRODUCTION", "SERVICE", "SETTINGS", "create_app"]
