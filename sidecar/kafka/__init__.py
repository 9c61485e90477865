"""Kafka plumbing shared by the sidecar, the joiner and the alert sink, below all three.

:mod:`~sidecar.kafka.security` decides TLS and SASL once for every client (aiokafka and faust);
:mod:`~sidecar.kafka.clients` builds the sidecar's aiokafka clients from the settings and waits for its
topics; :mod:`~sidecar.kafka.topics` checks and creates topics (the dead-letter topics and their message
size); :mod:`~sidecar.kafka.probe` tells whether the brokers answer (``model_health_kafka_up``);
:mod:`~sidecar.kafka.noise` quiets aiokafka's expected log noise; :mod:`~sidecar.kafka.fastio` is the
guarded fast fetch path (``kafka.fast_io``), installed while a service runs. Nothing here knows of windows,
contracts or the consumer loop.
"""

from sidecar.kafka.clients import TOPIC_POLL_SECONDS, KafkaClients, client_options
from sidecar.kafka.noise import install_noise_filter, stop_quietly
from sidecar.kafka.probe import PROBE_INTERVAL_SECONDS, KafkaProbe
from sidecar.kafka.security import KafkaSecurity
from sidecar.kafka.topics import MAX_MESSAGE_BYTES, ensure_dead_letter_topics, topic_max_message_bytes

__all__ = [
    "MAX_MESSAGE_BYTES",
    "PROBE_INTERVAL_SECONDS",
    "TOPIC_POLL_SECONDS",
    "KafkaClients",
    "KafkaProbe",
    "KafkaSecurity",
    "client_options",
    "ensure_dead_letter_topics",
    "install_noise_filter",
    "stop_quietly",
    "topic_max_message_bytes",
]
