"""Kafka plumbing shared by the sidecar, the joiner and the alert sink.

:mod:`~sidecar.kafka.clients` builds aiokafka clients from the settings (bootstrap servers, TLS and SASL)
and probes the broker; :mod:`~sidecar.kafka.topics` checks and creates topics (the dead-letter topics and
their message size); :mod:`~sidecar.kafka.noise` quiets aiokafka's expected log noise; :mod:`~sidecar.kafka.
fastio` is the guarded fast fetch path (``kafka.fast_io``) that receives fetch responses in place and checks
record CRCs in hardware.
"""

from sidecar.kafka.clients import TOPIC_POLL_SECONDS, KafkaClients, client_options
from sidecar.kafka.noise import install_noise_filter, stop_quietly
from sidecar.kafka.topics import MAX_MESSAGE_BYTES, ensure_dead_letter_topics, topic_max_message_bytes

__all__ = [
    "MAX_MESSAGE_BYTES",
    "TOPIC_POLL_SECONDS",
    "KafkaClients",
    "client_options",
    "ensure_dead_letter_topics",
    "install_noise_filter",
    "stop_quietly",
    "topic_max_message_bytes",
]
