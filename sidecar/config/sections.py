"""The sections of the settings: Kafka, the consumed topics, windows, ingest, HTTP, alerts, the joiner, the store,
publishing to the control room.

Each is a pydantic model that forbids unknown keys, so a typo in the YAML file is an error naming the key.
A topic's ``format`` is checked against the decoder registry (:mod:`sidecar.decoders.registry`), which is
also where the error's list of accepted names and the JSON Schema's ``enum`` come from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from sidecar.decoders.registry import format_names

__all__ = [
    "WORKER_MIN_CPUS",
    "AlertSettings",
    "Format",
    "HttpSettings",
    "IngestSettings",
    "JoinHttpSettings",
    "JoinSettings",
    "KafkaSettings",
    "PublishSettings",
    "Section",
    "StoreSettings",
    "TopicSettings",
    "WindowSettings",
]


def _registered_format(name: str) -> str:
    names = format_names()
    if name not in names:
        raise ValueError(f"unknown message format {name!r}; accepted formats: {', '.join(names)}")
    return name


class _FormatNames:
    """The JSON Schema of a format field: a string, one of the decoder registry's names."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["enum"] = format_names()
        return json_schema


#: A message format: a name in the decoder registry (:func:`sidecar.decoders.registry.format_names`), which
#: is also where an unknown name's error and the settings' JSON Schema read the accepted names from.
Format = Annotated[str, AfterValidator(_registered_format), _FormatNames()]


class Section(BaseModel):
    """A section of the settings: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class KafkaSettings(Section):
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


class TopicSettings(Section):
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


class WindowSettings(Section):
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


class IngestSettings(Section):
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


class HttpSettings(Section):
    """The HTTP server: /metrics, /healthz, /readyz, /v1/events."""

    host: str = "0.0.0.0"
    port: int = Field(9464, ge=0, le=65535)


class AlertSettings(Section):
    """Alert events: a Kafka topic and, optionally, Alertmanager's v2 API."""

    topic: str | None = Field("model-health.alerts", description="Kafka topic of the CloudEvents; null: none")
    alertmanager_url: str | None = Field(None, description="e.g. http://alertmanager:9093; null: no direct push")
    resend_seconds: float = Field(60.0, gt=0, description="a firing alert is re-sent to Alertmanager this often")
    timeout_seconds: float = Field(5.0, gt=0, description="one POST to Alertmanager")
    give_up_seconds: float = Field(600.0, gt=0, description="a resolved alert not delivered by then is dropped")
    max_pending: int = Field(10_000, ge=1, description="events held for the topic while Kafka is unreachable")
    generator_url: str | None = Field(None, description="link shown in Alertmanager (e.g. the dashboard)")


class JoinHttpSettings(Section):
    """The joiner's own HTTP server (faust's web server): /metrics and /healthz."""

    host: str = "0.0.0.0"
    port: int = Field(9465, ge=0, le=65535, description="0: no HTTP server")


class JoinSettings(Section):
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


class StoreSettings(Section):
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


class PublishSettings(Section):
    """What the pod sends the control room (``sidecar serve``): report events of closed windows (``sidecar run``)
    and metric events of joined windows (``sidecar join``); batch code reads ``control_url`` and ``token`` too.

    On by default: over Kafka (the topics below, key = model), unless ``control_url`` is set, in which case
    the events are POSTed to ``{control_url}/api/v1/reports`` and ``/api/v1/metrics`` with ``token`` (for a
    cluster without Kafka). See :mod:`sidecar.stream.control`.
    """

    enabled: bool = Field(True, description="publish events for the control room (off: only the pod's own store)")
    control_url: str | None = Field(
        None, description="e.g. http://model-health-control:8080: POST events there instead of Kafka")
    token: SecretStr | None = Field(None, description="Bearer token (write scope) for control_url")
    reports_topic: str = Field("model-health.reports", min_length=1)
    profiles_topic: str = Field("model-health.profiles", min_length=1)
    metrics_topic: str = Field("model-health.metrics", min_length=1)
    pod: str | None = Field(
        None, max_length=253,
        description="this pod's name in its report events (set SIDECAR_PUBLISH__POD from the downward API's "
        "metadata.name); default: the host name, which Kubernetes sets to the pod's name")
    max_pending: int = Field(100, ge=1, description="events held while control_url is unreachable (or Kafka, "
                             "before the first connection); past it the oldest is dropped and counted (a report "
                             "of 68 features is about 130 kB)")
    timeout_seconds: float = Field(10.0, gt=0, description="one POST to control_url")

    @field_validator("control_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def over_http(self) -> bool:
        """Whether events go to ``control_url`` (else to the Kafka topics)."""
        return self.enabled and self.control_url is not None

    @property
    def over_kafka(self) -> bool:
        """Whether events go to the Kafka topics."""
        return self.enabled and self.control_url is None

    def bearer(self) -> str | None:
        """The token's value, or ``None``."""
        return None if self.token is None else self.token.get_secret_value()
