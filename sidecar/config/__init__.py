"""Settings of ``sidecar run`` and ``sidecar join``: one pydantic settings class, from a YAML file plus
``SIDECAR_*`` variables, loaded once and passed down.

Environment variables win over the file (twelve-factor): ``SIDECAR_KAFKA__BOOTSTRAP_SERVERS`` overrides
``kafka.bootstrap_servers``; nothing else in the package reads ``os.environ``. :mod:`~sidecar.config.settings`
holds :class:`Settings` (and :class:`StoreLocation`, the store's part that batch code reads from the same
variables), :mod:`~sidecar.config.sections` its sections (Kafka, topics, windows, ingest, HTTP, alerts,
join, store, publish) and :mod:`~sidecar.config.sla` the ``sla:`` bounds; :mod:`~sidecar.config.serve` holds
``sidecar serve``'s :class:`ServeSettings`. The package stands low in the house: it
imports the error hierarchy, the report's ``Status`` (an SLA bound judges a value) and the decoder
registry (a topic's ``format`` is one of its names), never a subsystem that reads the settings.
"""

from sidecar.config.sections import (
    WORKER_MIN_CPUS,
    AlertSettings,
    Format,
    HttpSettings,
    IngestSettings,
    JoinHttpSettings,
    JoinSettings,
    KafkaSettings,
    PublishSettings,
    StoreSettings,
    TopicSettings,
    WindowSettings,
)
from sidecar.config.serve import ServeSettings
from sidecar.config.settings import Settings, StoreLocation
from sidecar.config.sla import ESTIMATED_METRICS, ESTIMATED_PREFIX, SlaBound, SlaSettings, check_sla_settings

__all__ = [
    "ESTIMATED_METRICS",
    "ESTIMATED_PREFIX",
    "WORKER_MIN_CPUS",
    "AlertSettings",
    "Format",
    "HttpSettings",
    "IngestSettings",
    "JoinHttpSettings",
    "JoinSettings",
    "KafkaSettings",
    "PublishSettings",
    "ServeSettings",
    "Settings",
    "SlaBound",
    "SlaSettings",
    "StoreLocation",
    "StoreSettings",
    "TopicSettings",
    "WindowSettings",
    "check_sla_settings",
]
