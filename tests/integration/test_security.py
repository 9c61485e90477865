"""The sidecar against a broker's SASL (PLAIN over SASL_PLAINTEXT) and SSL listeners, ``kafka.fast_io`` on.

SASL's handshake frames take their own path through the fast transport (passed through to the
authenticator, not parsed) and TLS hands decrypted bytes to it through another asyncio transport, so this
runs the real ``sidecar run`` against real listeners of its own broker
(``scripts/kafka-local start --sasl-plain USER:PASSWORD --ssl``).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.helpers import create_ssl_context
from sidecar_proc import SidecarProcess, get
from traffic import T0, make_contract, record_messages, sidecar_config

from sidecar.demo.data import churn_frame

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

KAFKA_LOCAL = Path(__file__).resolve().parents[2] / "scripts" / "kafka-local"
USER, PASSWORD = "sidecar", "s3cret-pw"


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A broker of its own with a SASL_PLAINTEXT listener that knows one user and an SSL listener; yields
    its state directory (``sasl-bootstrap``, ``ssl-bootstrap``, ``ssl/ca.pem``)."""
    state = tmp_path_factory.mktemp("kafka-secure")
    subprocess.run([sys.executable, str(KAFKA_LOCAL), "start", "--state-dir", str(state),
                    "--sasl-plain", f"{USER}:{PASSWORD}", "--ssl"], check=True, capture_output=True, text=True,
                   timeout=180)
    try:
        yield state
    finally:
        subprocess.run([sys.executable, str(KAFKA_LOCAL), "stop", "--state-dir", str(state)], check=False,
                       capture_output=True, timeout=60)


@pytest.fixture
def sasl_broker(secure_broker: Path) -> str:
    return (secure_broker / "sasl-bootstrap").read_text().strip()


def _client(bootstrap: str, password: str = PASSWORD) -> dict[str, Any]:
    return {"bootstrap_servers": bootstrap, "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
            "sasl_plain_username": USER, "sasl_plain_password": password}


def _sasl_config(bootstrap: str, topic: str, tmp: Path, password: str = PASSWORD) -> dict[str, Any]:
    config = sidecar_config(bootstrap, topic, tmp / "contracts", tmp / "reports")
    config["kafka"].update(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username=USER,
                           sasl_password=password)
    return config


async def test_the_sidecar_consumes_and_dead_letters_through_sasl_with_fast_io(sasl_broker: str,
                                                                                tmp_path: Path) -> None:
    topic = "sasl.inputs"
    make_contract(tmp_path / "contracts")
    values = [*record_messages(churn_frame(300, seed=1), T0), b"{not json", b""]
    producer = AIOKafkaProducer(**_client(sasl_broker), linger_ms=5)
    await producer.start()
    try:
        for v in values:
            await producer.send(topic, v)
        await producer.flush()
    finally:
        await producer.stop()

    proc = SidecarProcess(tmp_path, _sasl_config(sasl_broker, topic, tmp_path))
    try:
        proc.start()
        proc.wait_for(lambda: proc.metric("model_health_records_total", result="ok") == 300, what="300 good records")
        proc.wait_for(lambda: proc.metric("model_health_records_total", result="dead_lettered") == 2,
                      what="2 dead letters")
        assert proc.metric("model_health_kafka_up") == 1
        assert "Kafka fast I/O: frames" in proc.log()
        assert proc.terminate()[0] == 0  # a clean stop flushes the dead-letter sends
    finally:
        proc.stop()

    # The dead-letter copies went out through the sidecar's SASL producer.
    consumer = AIOKafkaConsumer(f"{topic}.dlq", **_client(sasl_broker), auto_offset_reset="earliest",
                                group_id=None)
    await consumer.start()
    try:
        copies: list[bytes | None] = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(copies) < 2 and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                copies.extend(r.value for r in records)
    finally:
        await consumer.stop()
    assert sorted(c or b"" for c in copies) == [b"", b"{not json"]


def _ssl_config(state: Path, topic: str, tmp: Path, cafile: str | None) -> dict[str, Any]:
    config = sidecar_config((state / "ssl-bootstrap").read_text().strip(), topic, tmp / "contracts",
                            tmp / "reports")
    config["kafka"].update(security_protocol="SSL", ssl_cafile=cafile)
    return config


async def test_the_sidecar_consumes_through_tls_with_fast_io(secure_broker: Path, tmp_path: Path) -> None:
    topic = "tls.inputs"
    make_contract(tmp_path / "contracts")
    ca = str(secure_broker / "ssl" / "ca.pem")
    producer = AIOKafkaProducer(bootstrap_servers=(secure_broker / "ssl-bootstrap").read_text().strip(),
                                security_protocol="SSL", ssl_context=create_ssl_context(cafile=ca), linger_ms=5)
    await producer.start()
    try:
        for v in record_messages(churn_frame(300, seed=3), T0):
            await producer.send(topic, v)
        await producer.flush()
    finally:
        await producer.stop()
    proc = SidecarProcess(tmp_path, _ssl_config(secure_broker, topic, tmp_path, ca))
    try:
        proc.start()
        proc.wait_for(lambda: proc.metric("model_health_records_total", result="ok") == 300, what="300 records")
        assert proc.metric("model_health_kafka_up") == 1
        assert proc.status()["streams"][0]["open_windows"][0]["rows"] == 300
        assert "Kafka fast I/O: frames" in proc.log()
    finally:
        proc.stop()


@pytest.mark.parametrize("case", ["wrong password", "unverifiable certificate"])
def test_refused_security_keeps_the_sidecar_up_and_says_why(secure_broker: Path, tmp_path: Path, case: str) -> None:
    make_contract(tmp_path / "contracts")
    if case == "wrong password":
        config = _sasl_config((secure_broker / "sasl-bootstrap").read_text().strip(), "sasl.other", tmp_path,
                              password="wrong")
        reasons = ("Authentication failed", "SaslAuthenticationFailed")
    else:
        # No ssl_cafile: the system CAs, which never signed the broker's self-signed certificate.
        config = _ssl_config(secure_broker, "tls.other", tmp_path, None)
        reasons = ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed")
    proc = SidecarProcess(tmp_path, config)
    try:
        proc.start()
        proc.wait_for(lambda: (proc.metric("model_health_kafka_errors_total", operation="consume") or 0) >= 1,
                      timeout=60, what="a failed connect counted")
        assert proc.metric("model_health_kafka_up") == 0
        assert get(proc.url + "/healthz")[0] == 200
        assert any(reason in proc.log() for reason in reasons), proc.log()[-2000:]
    finally:
        proc.stop()
