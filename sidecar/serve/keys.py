"""The typed keys of the control room's app state (``web.AppKey``), in one module so the app, the API and
the services read the same objects without importing each other."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sidecar.config.serve import ServeSettings
from sidecar.serve.contracts import ContractIndex
from sidecar.serve.metrics import ServeMetrics
from sidecar.store.base import ControlStore

__all__ = ["CONTRACTS", "METRICS", "OPENAPI", "SETTINGS", "STORE"]

#: The settings the app was built with.
SETTINGS = web.AppKey("serve_settings", ServeSettings)
#: The control store (started and stopped by the app's ``cleanup_ctx``).
STORE = web.AppKey("store", ControlStore)
#: The app's own Prometheus families.
METRICS = web.AppKey("serve_metrics", ServeMetrics)
#: The contract registry behind ``GET /contracts``.
CONTRACTS = web.AppKey("contracts", ContractIndex)
#: The OpenAPI document (``schemas/openapi.yaml``) as served at ``/api/v1/openapi.json``.
OPENAPI = web.AppKey("openapi", dict[str, Any])
