"""Settings: YAML file plus SIDECAR_* environment variables, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sidecar.config import Settings
from sidecar.errors import ConfigurationError

CONFIG = """
model: churn
kafka: {bootstrap_servers: "127.0.0.1:9092", security_protocol: PLAINTEXT}
inputs: {topic: churn.inputs, contract: contracts/churn_inputs, format: auto}
predictions: {topic: churn.predictions, contract: contracts/churn_outputs, format: auto}
window: {size_seconds: 300, lateness_seconds: 30, min_rows: 500}
http: {host: 0.0.0.0, port: 9464}
alerts: {topic: model-health.alerts, alertmanager_url: null}
"""


def test_design_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    s = Settings.load(path)
    assert s.kafka.group_id == "model-health-churn"
    assert [role for role, _ in s.topics] == ["inputs", "predictions"]
    assert s.inputs is not None and s.inputs.dead_letter_topic == "churn.inputs.dlq"


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    monkeypatch.setenv("SIDECAR_KAFKA__BOOTSTRAP_SERVERS", "10.0.0.1:9093")
    monkeypatch.setenv("SIDECAR_WINDOW__SIZE_SECONDS", "60")
    s = Settings.load(path)
    assert s.kafka.bootstrap_servers == "10.0.0.1:9093" and s.window.size_seconds == 60
    assert s.window.min_rows == 500  # the rest of the section still comes from the file


def test_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_MODEL", "m")
    monkeypatch.setenv("SIDECAR_INPUTS__TOPIC", "m.inputs")
    monkeypatch.setenv("SIDECAR_INPUTS__CONTRACT", "c/m")
    assert Settings.load().inputs is not None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("model: churn\nwindow: {size_seconds: -1}\ninputs: {topic: t, contract: c}", "window.size_seconds"),
        ("model: churn\nkafka: {bogus: 1}\ninputs: {topic: t, contract: c}", "kafka.bogus"),
        ("model: churn", "at least one"),
        ("model: churn\ninputs: {topic: t, contract: c, format: xml}", "inputs.format"),
        ("- a list", "mapping"),
        ("model: [unclosed", "not valid YAML"),
        ("model: churn\nkafka: {security_protocol: SASL_SSL}\ninputs: {topic: t, contract: c}",
         "kafka.*SASL_SSL needs sasl_mechanism"),
        ("model: churn\nkafka: {security_protocol: SASL_PLAINTEXT, sasl_mechanism: PLAIN, sasl_username: u}\n"
         "inputs: {topic: t, contract: c}", "kafka.*PLAIN needs sasl_username and sasl_password"),
        ("model: churn\nkafka: {security_protocol: SSL, ssl_cafile: /no/such/ca.pem}\ninputs: {topic: t, contract: c}",
         "kafka.*ssl_cafile '/no/such/ca.pem' is not a file"),
        ("model: churn\nkafka: {ssl_keyfile: key.pem}\ninputs: {topic: t, contract: c}", "without ssl_certfile"),
        ("model: churn\nkafka: {security_protocol: SASL_SSL, sasl_mechanism: KERBEROS}\n"
         "inputs: {topic: t, contract: c}",
         "kafka.sasl_mechanism"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=match):
        Settings.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        Settings.load(tmp_path / "nope.yaml")


def test_no_settings_at_all_says_how_to_pass_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    with pytest.raises(ConfigurationError) as info:
        Settings.load()
    text = str(info.value)
    assert "model: Field required" in text and "--config FILE" in text and "SIDECAR_" in text


def test_a_file_missing_a_field_gets_no_config_hint(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("inputs: {topic: t, contract: c}")
    with pytest.raises(ConfigurationError) as info:
        Settings.load(path)
    assert "model: Field required" in str(info.value) and "--config" not in str(info.value)
