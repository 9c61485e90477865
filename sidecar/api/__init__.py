"""The HTTP side of the sidecar: ``create_app(settings)`` builds the aiohttp app (metrics, health, events)."""

from sidecar.api.app import METRICS, SERVICE, SETTINGS, create_app

__all__ = ["METRICS", "SERVICE", "SETTINGS", "create_app"]
