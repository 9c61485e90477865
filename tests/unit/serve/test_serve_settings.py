"""``ServeSettings``: the YAML file of DESIGN.md section 8, ``SIDECAR_*`` over it, and one line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.config import KafkaSettings, ServeSettings
from sidecar.errors import ConfigurationError

DESIGN_FILE = """\
http: {host: 127.0.0.1, port: 8080}
store: {url: "sqlite:////var/lib/model-health/control.sqlite"}
contracts: {path: contracts/}
kafka:
  bootstrap_servers: "127.0.0.1:9092"
  group_id: model-health-serve
  reports_topic: model-health.reports
  profiles_topic: model-health.profiles
  metrics_topic: model-health.metrics
auth: {anonymous_read: false}
fleet: {grace_seconds: 60}
retention: {days: 90}
monitors: []
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "serve.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_design_file_loads_with_every_key(tmp_path: Path) -> None:
    s = ServeSettings.load(write(tmp_path, DESIGN_FILE))
    assert (s.http.host, s.http.port) == ("127.0.0.1", 8080)
    assert s.store.url == "sqlite:////var/lib/model-health/control.sqlite"
    assert s.contracts.path == "contracts/"
    assert s.kafka is not None and isinstance(s.kafka, KafkaSettings)
    assert (s.kafka.group_id, s.kafka.reports_topic, s.kafka.profiles_topic, s.kafka.metrics_topic) == (
        "model-health-serve", "model-health.reports", "model-health.profiles", "model-health.metrics")
    assert (s.auth.anonymous_read, s.auth.cors_origins) == (False, [])
    assert (s.fleet.grace_seconds, s.retention.days, s.monitors) == (60, 90, [])
    assert s.limits.max_body_bytes == 8 * 1024 * 1024


def test_without_kafka_there_is_no_ingest_and_defaults_hold(tmp_path: Path) -> None:
    s = ServeSettings.load(write(tmp_path, 'store: {url: "sqlite:////tmp/x.sqlite"}\n'))
    assert s.kafka is None
    assert (s.http.port, s.retention.days, s.retention.interval_seconds, s.retention.batch) == (8080, 90, 3600, 1000)


def test_kafka_security_is_the_sidecars(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"kafka: .*SASL_SSL needs sasl_mechanism"):
        ServeSettings.load(write(tmp_path, 'store: {url: "sqlite:////tmp/x.sqlite"}\n'
                                           "kafka: {security_protocol: SASL_SSL}\n"))
    s = ServeSettings.load(write(tmp_path, 'store: {url: "sqlite:////tmp/x.sqlite"}\n'
                                           "kafka: {security_protocol: SASL_SSL, sasl_mechanism: PLAIN, "
                                           "sasl_username: u, sasl_password: p}\n"))
    assert s.kafka is not None and s.kafka.uses_ssl


def test_environment_beats_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_STORE__URL", "postgresql+asyncpg://mh:pw@db:5432/mh")
    monkeypatch.setenv("SIDECAR_AUTH__ANONYMOUS_READ", "true")
    monkeypatch.setenv("SIDECAR_LIMITS__MAX_BODY_BYTES", "4096")
    s = ServeSettings.load(write(tmp_path, DESIGN_FILE))
    assert s.store.url == "postgresql+asyncpg://mh:pw@db:5432/mh"
    assert s.auth.anonymous_read is True and s.limits.max_body_bytes == 4096


def test_kafka_from_the_environment_turns_the_ingest_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_KAFKA__BOOTSTRAP_SERVERS", "kafka-0:9092")
    s = ServeSettings.load(write(tmp_path, 'store: {url: "sqlite:////tmp/x.sqlite"}\n'))
    assert s.kafka is not None and (s.kafka.bootstrap_servers, s.kafka.group_id) == ("kafka-0:9092",
                                                                                    "model-health-serve")


def test_an_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"auth\.anonymous_reads: Extra inputs are not permitted"):
        ServeSettings.load(write(tmp_path, DESIGN_FILE + "auth: {anonymous_reads: true}\n"))


def test_without_a_store_the_designs_file_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIDECAR_STORE__URL", raising=False)
    assert ServeSettings.load().store.url == "sqlite:////var/lib/model-health/control.sqlite"


@pytest.mark.parametrize(("text", "message"), [
    ("- a list\n", "expected a mapping at the top level"),
    ("store: {url: [\n", "is not valid YAML"),
])
def test_a_broken_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ServeSettings.load(write(tmp_path, text))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        ServeSettings.load(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("origins", "ok"), [
    (["https://grafana.example.com"], True), (["*"], True), (["grafana.example.com"], False)])
def test_cors_origins_are_origins(origins: list[str], ok: bool) -> None:
    kwargs = {"store": {"url": "sqlite:////tmp/x.sqlite"}, "auth": {"cors_origins": origins}}
    if ok:
        assert ServeSettings(**kwargs).auth.cors_origins == origins
    else:
        with pytest.raises(ValueError, match="is not an origin"):
            ServeSettings(**kwargs)


def test_limits_and_retention_are_bounded() -> None:
    with pytest.raises(ValueError, match="max_body_bytes"):
        ServeSettings(store={"url": "sqlite:////tmp/x.sqlite"}, limits={"max_body_bytes": 10})
    assert ServeSettings(store={"url": "sqlite:////tmp/x.sqlite"}, retention={"days": None}).retention.days is None
