"""The one place Kafka TLS and SASL are decided: :class:`KafkaSecurity`, from the ``kafka:`` settings.

Every client of the package gets its security from here: the sidecar's aiokafka consumer, producer and
admin client and the alert sink (:meth:`KafkaSecurity.aiokafka_options`), and the joiner's faust app
(:meth:`KafkaSecurity.faust_credentials`), so a listener that works for one works for all. The TLS context
is built once (CA bundle, client certificate and key) and shared by whatever the builder hands it to.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from aiokafka.helpers import create_ssl_context

from sidecar.config import KafkaSettings

__all__ = ["KafkaSecurity"]


@dataclass(frozen=True)
class KafkaSecurity:
    """How to reach the brokers securely: the protocol, the TLS context (SSL, SASL_SSL) and SASL credentials.

    Examples
    --------
    >>> from sidecar.config import KafkaSettings
    >>> sec = KafkaSecurity.of(KafkaSettings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
    ...                                      sasl_username="u", sasl_password="p"))
    >>> sec.aiokafka_options()["sasl_mechanism"], sec.ssl_context is None
    ('PLAIN', True)
    >>> KafkaSecurity.of(KafkaSettings()).aiokafka_options()
    {'security_protocol': 'PLAINTEXT'}
    """

    protocol: str
    ssl_context: ssl.SSLContext | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None

    @classmethod
    def of(cls, k: KafkaSettings) -> KafkaSecurity:
        """The security of validated ``kafka:`` settings (which already checked that SASL has credentials)."""
        context = (create_ssl_context(cafile=k.ssl_cafile, certfile=k.ssl_certfile, keyfile=k.ssl_keyfile)
                   if k.uses_ssl else None)
        return cls(k.security_protocol, context, k.sasl_mechanism, k.sasl_username, k.sasl_password)

    def aiokafka_options(self) -> dict[str, Any]:
        """Keyword arguments of every aiokafka client: ``security_protocol``, SASL and ``ssl_context``."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.sasl_mechanism:
            options.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.sasl_username,
                           sasl_plain_password=self.sasl_password)
        if self.ssl_context is not None:
            options["ssl_context"] = self.ssl_context
        return options

    def faust_credentials(self) -> Any:
        """faust's ``broker_credentials``: SASL (over TLS for SASL_SSL) or TLS alone; None for PLAINTEXT.

        faust is imported only here, by the joiner that asks: the sidecar's own process never loads it.
        """
        if self.protocol == "PLAINTEXT":
            return None
        import faust

        if self.sasl_mechanism:
            return faust.SASLCredentials(username=self.sasl_username, password=self.sasl_password,
                                         mechanism=self.sasl_mechanism, ssl_context=self.ssl_context)
        return faust.SSLCredentials(self.ssl_context)
