"""Settings of ``sidecar run``: one pydantic settings class, from a YAML file plus ``SIDECAR_*`` variables.

Environment variables win over the file (twelve-factor): ``SIDECAR_KAFKA__BOOTSTRAP_SERVERS`` overrides
``kafka.bootstrap_servers``. Nothing else in the package reads ``os.environ``; the settings object is loaded
once and passed down. Batch code that records production metrics needs only the store's part of them,
:class:`StoreLocation`, read from the same variables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from sidecar.errors import ConfigurationError
from sidecar.performance.sla import SlaBound, check_sla_settings

__all__ = [
    "WORKER_MIN_CPUS",
    "AlertSettings",
    "HttpSettings",
    "IngestSettings",
    "JoinHttpSettings",
    "JoinSettings",
    "KafkaSettings",
    "Settings",
    "StoreLocation",
    "StoreSettings",
    "TopicSettings",
    "WindowSettings",
]

Format = Literal["auto", "record", "flat", "columns", "oip", "arrow"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KafkaSettings(_Section):
    """Connection to the brokers; the consumer group is shared by every sidecar of one model."""

    bootstrap_servers: str = "127.0.0.1:9092"
    group_id: str | None = Field(None, description="default: model-health-<model>")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = Field(None, description="PEM CA bundle of the brokers' certificates (else system CAs)")
    ssl_certfile: str | None = Field(None, description="PEM client certificate (mutual TLS)")
    ssl_keyfile: str | None = Field(None, description="PEM key of ssl_certfile, if not in that file")
    client_id: str = "model-health-sidecar"
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    max_poll_records: int = Field(10_000, ge=1)
    max_partition_fetch_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="bytes per partition per fetch")
    check_crcs: bool = Field(True, description="verify record CRCs (off trades a safety check for CPU)")
    fast_io: bool = Field(
        True,
        description="receive fetch responses in place and verify CRCs in hardware (aiokafka 0.14.0; "
        "otherwise stock aiokafka)",
    )
    fetch_max_wait_ms: int = Field(100, ge=0)
    retry_backoff_seconds: float = Field(1.0, gt=0)
    retry_backoff_max_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _security_is_complete(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL_") and not self.sasl_mechanism:
            raise ValueError(f"security_protocol {self.security_protocol} needs sasl_mechanism")
        if self.sasl_mechanism is not None and not (self.sasl_username and self.sasl_password):
            raise ValueError(f"sasl_mechanism {self.sasl_mechanism} needs sasl_username and sasl_password")
        if self.ssl_keyfile and not self.ssl_certfile:
            raise ValueError("ssl_keyfile is set without ssl_certfile")
        for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(self, key)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{key} {path!r} is not a file")
        return self

    @property
    def uses_ssl(self) -> bool:
        """Whether connections to the brokers are TLS (SSL or SASL_SSL)."""
        return self.security_protocol in ("SSL", "SASL_SSL")


class TopicSettings(_Section):
    """One consumed topic and the contract its records are judged against."""

    topic: str
    contract: str = Field(description="dir/name (newest version) or dir/name/vN.json")
    format: Format = "auto"
    request_id_key: str = "request_id"
    timestamp_key: str = "timestamp"
    oip_columns: dict[str, list[str]] | None = Field(None, description="tensor name -> contract columns by index")
    dlq_topic: str | None = Field(None, description="default: <topic>.dlq")

    @property
    def dead_letter_topic(self) -> str:
        """Where undecodable records go."""
        return self.dlq_topic or f"{self.topic}.dlq"


class WindowSettings(_Section):
    """Tumbling windows by record timestamp."""

    size_seconds: float = Field(300.0, gt=0)
    lateness_seconds: float = Field(30.0, ge=0)
    min_rows: int = Field(500, ge=0, description="fewer rows: only the schema is judged, not drift")
    idle_close_seconds: float | None = Field(
        60.0, gt=0, description="close open windows after this long without records (None: never)"
    )
    partition_idle_seconds: float = Field(
        30.0, gt=0, description="a partition without records this long (wall time) stops holding windows open; "
        "until then a window closes only once every assigned partition's time has passed its end"
    )


#: ``worker_process: auto`` starts the ingest worker from this many available CPUs.
WORKER_MIN_CPUS = 2.0


class IngestSettings(_Section):
    """Where decoding and profiling run."""

    worker_process: bool | Literal["auto"] = Field(
        "auto",
        description="decode and profile in a child process, so Kafka fetching and ingest use two cores; "
        "auto: only when the cgroup CPU quota and the affinity mask give at least 2 CPUs",
    )
    ring_mib: int = Field(32, ge=1, description="shared memory (MiB) for batches on their way to the worker")
    max_in_flight: int = Field(8, ge=1, description="batches handed to the worker and not yet answered")

    def use_worker_process(self, cpus: float | None = None) -> bool:
        """Whether to start the ingest worker: ``worker_process`` itself, or for ``auto`` whether at least
        :data:`WORKER_MIN_CPUS` CPUs are available (``cpus``; default: :func:`sidecar.runtime.available_cpus`)."""
        if isinstance(self.worker_process, bool):
            return self.worker_process
        if cpus is None:
            from sidecar.runtime import available_cpus

            cpus = available_cpus()
        return cpus >= WORKER_MIN_CPUS


class HttpSettings(_Section):
    """The HTTP server: /metrics, /healthz, /readyz, /v1/events."""

    host: str = "0.0.0.0"
    port: int = Field(9464, ge=0, le=65535)


class AlertSettings(_Section):
    """Alert events: a Kafka topic and, optionally, Alertmanager's v2 API."""

    topic: str | None = Field("model-health.alerts", description="Kafka topic of the CloudEvents; null: none")
    alertmanager_url: str | None = Field(None, description="e.g. http://alertmanager:9093; null: no direct push")
    resend_seconds: float = Field(60.0, gt=0, description="a firing alert is re-sent to Alertmanager this often")
    timeout_seconds: float = Field(5.0, gt=0, description="one POST to Alertmanager")
    give_up_seconds: float = Field(600.0, gt=0, description="a resolved alert not delivered by then is dropped")
    max_pending: int = Field(10_000, ge=1, description="events held for the topic while Kafka is unreachable")
    generator_url: str | None = Field(None, description="link shown in Alertmanager (e.g. the dashboard)")


class JoinHttpSettings(_Section):
    """The joiner's own HTTP server (faust's web server): /metrics and /healthz."""

    host: str = "0.0.0.0"
    port: int = Field(9465, ge=0, le=65535, description="0: no HTTP server")


class JoinSettings(_Section):
    """``sidecar join``: predictions joined with delayed outcomes by request id (see :mod:`sidecar.join`)."""

    predictions_topic: str | None = Field(None, description="default: predictions.topic, else <model>.predictions")
    outcomes_topic: str | None = Field(None, description="default: <model>.outcomes")
    format: Format | None = Field(None, description="predictions' message format (default: predictions.format)")
    id_field: str = "request_id"
    timestamp_field: str = "timestamp"
    task: Literal["classification", "regression"] = "classification"
    score_field: str = Field("score", description="predicted probability (classification) or value (regression)")
    label_field: str = Field("label", description="the outcome's true label (0/1) or value")
    threshold: float = Field(0.5, description="score at or above it predicts the positive class")
    ttl_seconds: float = Field(7 * 86400.0, gt=0, description="how long a prediction or outcome waits for its pair")
    window_seconds: float = Field(3600.0, gt=0, description="windows by prediction time")
    min_pairs: int = Field(100, ge=1, description="joined pairs a window needs before its metrics are exported")
    store: Literal["memory", "rocksdb"] = "memory"
    data_dir: str = Field("model-health-join", description="faust's data directory (RocksDB tables)")
    partitions: int = Field(1, ge=1, description="partitions of the topics and the tables' changelogs")
    reference: str | None = Field(None, description="Parquet or CSV of scores and labels: CBPE calibration")
    sweep_seconds: float = Field(60.0, gt=0, description="how often expired entries are removed and windows judged")
    batch_size: int = Field(1000, ge=1, description="records an agent takes from its stream at most at once")
    batch_seconds: float = Field(0.02, gt=0, description="how long an agent waits to fill a batch")
    session_timeout_seconds: float = Field(
        30.0, ge=6, description="a joiner that died (kill -9) leaves the group after this long; its restart waits"
    )
    http: JoinHttpSettings = Field(default_factory=JoinHttpSettings)


#: File suffixes of SQLite databases: ``store.path`` named one before it became a directory.
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


class StoreSettings(_Section):
    """The store: one directory holding the window reports and the production-metric database.

    Layout (:class:`sidecar.store.StoreDirectory`): ``<path>/<model>/<contract>.jsonl`` for reports and
    ``<path>/production-metrics.sqlite`` for the series ``track_production_metrics`` records. The sidecar
    and batch code find it through the same setting (``SIDECAR_STORE__PATH``).
    """

    path: str = Field("model-health-store", description="a directory: reports and production-metrics.sqlite")
    production_metrics_refresh_seconds: float = Field(
        30.0, gt=0, description="how often the sidecar re-reads the production metrics it exports"
    )

    @field_validator("path")
    @classmethod
    def _path_is_a_directory(cls, value: str) -> str:
        path = Path(value)
        if path.exists() and not path.is_dir():
            raise ValueError(
                f"{value!r} is a file; the store is a directory, which holds the reports and "
                "production-metrics.sqlite (move an older production-metric database there under that name)"
            )
        if not path.exists() and path.suffix.lower() in _SQLITE_SUFFIXES:
            raise ValueError(
                f"{value!r} names a SQLite file; the store is a directory, which holds the reports and "
                "production-metrics.sqlite"
            )
        return value


class Settings(BaseSettings):
    """Everything ``sidecar run`` needs. Load with :meth:`load`."""

    model_config = SettingsConfigDict(env_prefix="SIDECAR_", env_nested_delimiter="__", extra="forbid")

    model: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    inputs: TopicSettings | None = None
    predictions: TopicSettings | None = None
    window: WindowSettings = Field(default_factory=WindowSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    join: JoinSettings | None = None
    sla: dict[str, SlaBound] = Field(
        default_factory=dict,
        description="production-metric bounds by metric name (accuracy: {warning: 0.85, critical: 0.8}); "
        "see sidecar.performance.sla",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("sla")
    @classmethod
    def _judgeable_slas(cls, value: dict[str, SlaBound]) -> dict[str, SlaBound]:
        check_sla_settings(value)
        return value

    @model_validator(mode="after")
    def _needs_a_topic(self) -> Settings:
        if self.inputs is None and self.predictions is None and self.join is None:
            raise ValueError("configure at least one of 'inputs' and 'predictions' (or 'join' for sidecar join)")
        if self.join is not None:
            # The joiner reads the sidecar's predictions topic unless told otherwise.
            if self.join.predictions_topic is None:
                self.join.predictions_topic = (self.predictions.topic if self.predictions is not None
                                               else f"{self.model}.predictions")
            if self.join.outcomes_topic is None:
                self.join.outcomes_topic = f"{self.model}.outcomes"
            if self.join.format is None:
                self.join.format = self.predictions.format if self.predictions is not None else "auto"
        if self.kafka.group_id is None:
            self.kafka.group_id = f"model-health-{self.model}"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment must beat them.
        return env_settings, init_settings, file_secret_settings

    @property
    def topics(self) -> list[tuple[str, TopicSettings]]:
        """``[("inputs", ...), ("predictions", ...)]`` for the configured ones."""
        return [(role, t) for role, t in (("inputs", self.inputs), ("predictions", self.predictions)) if t]

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, *, streams: bool = True) -> Settings:
        """Settings from a YAML file (optional) overridden by ``SIDECAR_*`` variables.

        ``streams`` (``sidecar run``) requires ``inputs`` or ``predictions``; ``sidecar join`` passes False,
        since its file may have only ``model``, ``kafka`` and ``join``. Raises :class:`ConfigurationError`
        with one line per problem, naming the key.
        """
        data: dict[str, Any] = {}
        where = "environment"
        if path is not None:
            where = os.fspath(path)
            try:
                loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise ConfigurationError(f"config file {where!r} does not exist") from None
            except yaml.YAMLError as exc:
                raise ConfigurationError(f"config file {where!r} is not valid YAML: {exc}") from exc
            if loaded is not None and not isinstance(loaded, dict):
                raise ConfigurationError(f"config file {where!r}: expected a mapping at the top level")
            data = loaded or {}
        try:
            settings = cls(**data)
        except ValidationError as exc:
            hint = ""
            if path is None and any(e["type"] == "missing" for e in exc.errors()):
                # The usual first run: no file and no SIDECAR_* variables. Say how to give settings.
                hint = ("; pass a settings file with --config FILE (e.g. sidecar run --config sidecar.yaml; see "
                        "the README's sidecar section) or set SIDECAR_* variables such as SIDECAR_MODEL")
            raise ConfigurationError(f"invalid settings ({where}): {_problems(exc)}{hint}") from exc
        if streams and not settings.topics:
            raise ConfigurationError(f"invalid settings ({where}): (top): configure at least one of 'inputs' and "
                                     "'predictions' (a file with only 'join' is for sidecar join)")
        return settings


class StoreLocation(_Section):
    """What batch code needs to find the sidecar's store: ``store`` and, when known, ``model``.

    ``track_production_metrics`` and ``get_production_metrics`` use it, so they resolve the same directory as
    the sidecar: from a :class:`Settings` (:meth:`of`) or from the same ``SIDECAR_STORE__*`` and
    ``SIDECAR_MODEL`` variables (:meth:`load`), without needing the rest of the sidecar's settings.
    """

    model: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    store: StoreSettings = Field(default_factory=StoreSettings)

    @classmethod
    def of(cls, settings: Settings) -> StoreLocation:
        """The store and model of the sidecar's settings."""
        return cls(model=settings.model, store=settings.store)

    @classmethod
    def load(cls) -> StoreLocation:
        """From the environment, read by :class:`Settings`' own source (same prefix and ``__`` nesting).

        Raises :class:`ConfigurationError` naming the key (e.g. ``store.path``) if a value is invalid.
        """
        try:
            env = EnvSettingsSource(Settings)()
            return cls(model=env.get("model"), store=env.get("store") or {})
        except ValidationError as exc:
            raise ConfigurationError(f"invalid settings (environment): {_problems(exc)}") from exc
        except SettingsError as exc:  # a SIDECAR_<SECTION> variable that is not valid JSON
            raise ConfigurationError(f"invalid settings (environment): {exc}") from exc


def _problems(exc: ValidationError) -> str:
    """One ``key: message`` per problem, keys dotted (``kafka.bogus``)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
