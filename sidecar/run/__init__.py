"""``sidecar run``, the pod's own face, at the top of the streaming house: :func:`create_app` builds its
aiohttp app (``/metrics``, ``/healthz``, ``/readyz``, ``POST /v1/events``, ``/api/v1/status``) around the
streaming service (:mod:`sidecar.stream`), the alert notifier (:mod:`sidecar.alerts`) and the store
directory (:mod:`sidecar.store`), each a service in the app's ``cleanup_ctx``; :mod:`~sidecar.run.runner`
runs it until SIGTERM. :mod:`~sidecar.run.events` takes the KServe payload logger's CloudEvents over HTTP;
:mod:`~sidecar.run.production_exporter` exports the production metrics the joiner and batch jobs record.
"""

from sidecar.run.app import METRICS, PRODUCTION, SERVICE, SETTINGS, create_app

__all__ = ["METRICS", "PRODUCTION", "SERVICE", "SETTINGS", "create_app"]
