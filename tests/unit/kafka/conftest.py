"""Fixtures of the Kafka plumbing tests."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a self-signed certificate for 127.0.0.1 (``cert.pem``, ``key.pem``; openssl, from
    scripts/apt-packages.txt): the server's certificate, its own CA, and a client certificate it accepts."""
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    return d


@pytest.fixture(scope="module")
def tls_pair(tls_files: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Contexts of a TLS server and of a client that trusts it."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tls_files / "cert.pem", tls_files / "key.pem")
    client = ssl.create_default_context(cafile=str(tls_files / "cert.pem"))
    return server, client
