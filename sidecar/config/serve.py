"""The settings of ``sidecar serve``, the control room: :class:`ServeSettings` and its sections.

Loaded like ``sidecar run``'s :class:`~sidecar.config.Settings`: once, from a YAML file overridden by
``SIDECAR_*`` variables (``SIDECAR_STORE__URL``, ``SIDECAR_AUTH__ANONYMOUS_READ``), unknown keys are errors
naming the key. DESIGN.md section 8 fixes the keys::

    http: {host: 127.0.0.1, port: 8080}
    store: {url: "sqlite:////var/lib/model-health/control.sqlite"}
    contracts: {path: contracts/}
    kafka: {bootstrap_servers: "127.0.0.1:9092", group_id: model-health-serve}   # optional
    auth: {anonymous_read: false}
    fleet: {grace_seconds: 60}
    retention: {days: 90}
    monitors: []

>>> s = ServeSettings()
>>> s.store.url, s.http.port, s.kafka is None, s.limits.max_body_bytes, s.auth.anonymous_read
('sqlite:////var/lib/model-health/control.sqlite', 8080, True, 8388608, False)
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict, SettingsError

from sidecar.config.sections import KafkaSettings, Section
from sidecar.config.settings import FileSettings, _problems, read_config_file
from sidecar.errors import ConfigurationError

__all__ = [
    "DEFAULT_STORE_URL",
    "MAX_BODY_BYTES",
    "AuthSettings",
    "ContractsSettings",
    "FleetSettings",
    "LimitsSettings",
    "RetentionSettings",
    "ServeHttpSettings",
    "ServeKafkaSettings",
    "ServeSettings",
    "ServeStoreSettings",
]

#: Largest request body the REST API reads by default (DESIGN.md section 8): 8 MiB.
MAX_BODY_BYTES = 8 * 1024 * 1024
#: The store when ``store.url`` is not given: DESIGN.md section 8's SQLite file (the store refuses relative
#: paths, so the default cannot be "next to wherever the command runs").
DEFAULT_STORE_URL = "sqlite:////var/lib/model-health/control.sqlite"



class ServeHttpSettings(Section):
    """Where the control room listens, and how long a shutdown waits for requests in flight."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535, description="0: any free port (tests)")
    shutdown_timeout_seconds: float = Field(
        10.0, gt=0, description="on SIGTERM, how long requests in flight may take to finish")


class ServeStoreSettings(Section):
    """The control room's database: a SQLite file (an absolute path: four slashes) or PostgreSQL.

    The URL is checked by the store itself (:func:`sidecar.store.sql.parse_url`) when it is opened, so the
    rules live in one place.
    """

    url: str = Field(DEFAULT_STORE_URL, min_length=1,
                     description="sqlite:////abs/path.sqlite or postgresql+asyncpg://user:pw@host:5432/db")


class ContractsSettings(Section):
    """The contract registry the control room reads (``<path>/<name>/v<N>.json``)."""

    path: str = "contracts"


class ServeKafkaSettings(KafkaSettings):
    """The sidecar's Kafka connection (same security keys) and the control room's own group and topics."""

    group_id: str | None = Field("model-health-serve", description="the control room's consumer group")
    reports_topic: str = Field("model-health.reports", min_length=1)
    profiles_topic: str = Field("model-health.profiles", min_length=1)
    metrics_topic: str = Field("model-health.metrics", min_length=1)


class AuthSettings(Section):
    """Who may call the API: Bearer tokens (``sidecar token create``); reads too unless ``anonymous_read``."""

    anonymous_read: bool = Field(False, description="reads need no token (writes always do)")
    cors_origins: list[str] = Field(
        default_factory=list,
        description="origins allowed to call the API from a browser (e.g. https://grafana.example.com; "
        "'*': any); empty: no CORS headers at all")

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port]) or '*'")
        return [o.rstrip("/") for o in value]


class FleetSettings(Section):
    """The fleet view (a later issue): how long a window waits for late pods."""

    grace_seconds: float = Field(60.0, ge=0)


class RetentionSettings(Section):
    """How long reports are kept; older ones are deleted in bounded batches every ``interval_seconds``."""

    days: float | None = Field(90.0, gt=0, description="null: keep every report")
    interval_seconds: float = Field(3600.0, gt=0, description="how often retention runs")
    batch: int = Field(1000, ge=1, le=100_000, description="reports deleted per transaction")


class LimitsSettings(Section):
    """Bounds on what one request may ask of the server."""

    max_body_bytes: int = Field(MAX_BODY_BYTES, ge=1024, description="larger bodies are refused with 413 unread")


class ServeSettings(FileSettings):
    """Everything ``sidecar serve`` and ``sidecar token`` need. Load with :meth:`load`."""

    model_config = SettingsConfigDict(env_prefix="SIDECAR_", env_nested_delimiter="__", extra="forbid")

    http: ServeHttpSettings = Field(default_factory=ServeHttpSettings)
    store: ServeStoreSettings = Field(default_factory=ServeStoreSettings)
    contracts: ContractsSettings = Field(default_factory=ContractsSettings)
    kafka: ServeKafkaSettings | None = Field(None, description="without it, reports arrive over HTTP only")
    auth: AuthSettings = Field(default_factory=AuthSettings)
    fleet: FleetSettings = Field(default_factory=FleetSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    monitors: list[dict[str, Any]] = Field(
        default_factory=list, description="declarative monitors (same fields as the API), upserted at start")
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> ServeSettings:
        """Settings from a YAML file (optional) overridden by ``SIDECAR_*`` variables.

        Raises :class:`~sidecar.errors.ConfigurationError` with one line per problem, naming the key
        (``store.url: ...``).
        """
        data, where = read_config_file(path)
        try:
            return cls(**data)
        except ValidationError as exc:
            raise ConfigurationError(f"invalid settings ({where}): {_problems(exc)}") from exc
        except SettingsError as exc:  # a SIDECAR_<SECTION> variable that is not valid JSON
            raise ConfigurationError(f"invalid settings ({where}): {exc}") from exc
