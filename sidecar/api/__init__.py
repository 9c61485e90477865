"""The HTTP side of the sidecar: ``create_app(settings)`` builds the aiohttp app (metrics, health, events)."""

from sidecar.api.app import METRICS, PRODUCTION, SERVICE, SETTINGS, create_app

__all__ = ["METRICS", "PRODUCTION", "SERVICE", "SETTINGS", "create_app"]
