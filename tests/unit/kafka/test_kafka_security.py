"""One Kafka security builder: the sidecar's aiokafka clients and the joiner's faust app get the same TLS and
SASL from the same ``kafka:`` settings."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import pytest

from sidecar.config import KafkaSettings
from sidecar.join.app import _broker
from sidecar.kafka.clients import client_options
from sidecar.kafka.security import KafkaSecurity

PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]


def _settings(protocol: str, tls: Path) -> KafkaSettings:
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL_"):
        options.update(sasl_mechanism="SCRAM-SHA-512", sasl_username="sidecar", sasl_password="s3cret")
    if protocol.endswith("SSL"):
        options.update(ssl_cafile=str(tls / "cert.pem"), ssl_certfile=str(tls / "cert.pem"),
                       ssl_keyfile=str(tls / "key.pem"))
    return KafkaSettings(**options)


def _faust(k: KafkaSettings) -> Any:
    """What ``sidecar join`` hands faust, from its own code path."""
    return _broker(k).get("broker_credentials")


def _faust_context(credentials: Any) -> ssl.SSLContext | None:
    return getattr(credentials, "ssl_context", None) or getattr(credentials, "context", None)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_aiokafka_and_faust_get_the_same_protocol_and_sasl(protocol: str, tls_files: Path) -> None:
    k = _settings(protocol, tls_files)
    aio, credentials = client_options(k), _faust(k)
    assert aio["security_protocol"] == protocol
    if protocol == "PLAINTEXT":
        assert credentials is None
        assert "ssl_context" not in aio and "sasl_mechanism" not in aio
        return
    assert credentials.protocol.value == protocol
    if protocol.startswith("SASL_"):
        assert (aio["sasl_mechanism"], aio["sasl_plain_username"], aio["sasl_plain_password"]) == (
            credentials.mechanism.value, credentials.username, credentials.password) == (
            "SCRAM-SHA-512", "sidecar", "s3cret")
    else:
        assert "sasl_mechanism" not in aio and not hasattr(credentials, "mechanism")
    assert ("ssl_context" in aio) is protocol.endswith("SSL") is (_faust_context(credentials) is not None)


@pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
def test_both_tls_contexts_trust_the_same_ca_and_present_the_same_client_certificate(
        protocol: str, tls_files: Path) -> None:
    """Each context completes a handshake with a server that requires the configured client certificate and
    is trusted only through the configured CA bundle."""
    k = _settings(protocol, tls_files)
    aio_context, faust_context = client_options(k)["ssl_context"], _faust_context(_faust(k))
    assert aio_context is not None and faust_context is not None
    for context in (aio_context, faust_context):
        assert context.verify_mode is ssl.CERT_REQUIRED
        assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "127.0.0.1"),),)]

    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tls_files / "cert.pem", tls_files / "key.pem")
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(cafile=str(tls_files / "cert.pem"))

    async def handshake(client: ssl.SSLContext) -> dict[str, Any]:
        peers: list[dict[str, Any]] = []

        async def serve(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peers.append(writer.get_extra_info("peercert"))
            writer.close()

        listener = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server)
        try:
            port = listener.sockets[0].getsockname()[1]
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=client), 10)
            writer.close()
            async with asyncio.timeout(10):
                while not peers:
                    await asyncio.sleep(0.01)
            return peers[0]
        finally:
            listener.close()
            await listener.wait_closed()

    aio_peer = asyncio.run(handshake(aio_context))
    faust_peer = asyncio.run(handshake(faust_context))
    assert aio_peer["subject"] == faust_peer["subject"] == ((("commonName", "127.0.0.1"),),)


def test_the_tls_context_is_built_once_per_settings_and_shared() -> None:
    security = KafkaSecurity("SSL", ssl.create_default_context())
    assert security.aiokafka_options()["ssl_context"] is security.faust_credentials().context
