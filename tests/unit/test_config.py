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


# -- one source for the formats: the decoder registry ---------------------------------------------------
def test_a_topic_format_is_checked_against_the_decoder_registry(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from sidecar.decoders import registry

    path = tmp_path / "c.yaml"
    path.write_text("model: churn\ninputs: {topic: t, contract: c, format: protobuf}\n")
    with pytest.raises(ConfigurationError, match=r"inputs\.format: .*unknown message format 'protobuf'; accepted "
                       r"formats: arrow, auto, columns, flat, oip, record"):
        Settings.load(path)
    # A format registered later is accepted and listed: the names are read from the registry, not copied.
    monkeypatch.setitem(registry.DECODERS, "protobuf", registry.DECODERS["record"])
    assert Settings.load(path).inputs.format == "protobuf"  # type: ignore[union-attr]
    path.write_text("model: churn\ninputs: {topic: t, contract: c, format: xml}\n")
    with pytest.raises(ConfigurationError, match=r"accepted formats: arrow, auto, columns, flat, oip, protobuf, "
                       r"record"):
        Settings.load(path)


def test_the_json_schema_lists_the_registered_formats() -> None:
    from sidecar.decoders.registry import available_formats, format_names

    schema = Settings.model_json_schema()["$defs"]
    assert schema["TopicSettings"]["properties"]["format"] == {
        "default": "auto", "enum": format_names(), "title": "Format", "type": "string"}
    join_format = schema["JoinSettings"]["properties"]["format"]["anyOf"]
    assert {"enum": format_names(), "type": "string"} in join_format
    assert format_names() == available_formats()  # the lazy Arrow format is among them without loading it


def test_the_sla_models_are_settings_and_still_import_from_performance() -> None:
    from sidecar.config import ESTIMATED_METRICS, SlaBound, SlaSettings, check_sla_settings
    from sidecar.performance import cbpe, sla

    assert (sla.SlaBound, sla.SlaSettings, sla.check_sla_settings) == (SlaBound, SlaSettings, check_sla_settings)
    assert SlaBound.__module__ == "sidecar.config.sla"
    assert cbpe.ESTIMATED_METRICS is ESTIMATED_METRICS  # what CBPE estimates is what an SLA may judge on estimates
