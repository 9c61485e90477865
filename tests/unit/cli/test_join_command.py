"""``sidecar join``'s input errors: exit 2 with one line, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run


def test_settings_without_a_join_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "sidecar.yaml"
    config.write_text("model: churn\npredictions: {topic: churn.predictions, contract: contracts/churn}\n")
    code, out, err = run(capsys, "join", "--config", str(config))
    assert (code, out) == (2, "")
    assert_one_line_error(err, "no 'join' section", str(config))


def test_missing_reference_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "join.yaml"
    config.write_text(f"model: churn\njoin: {{reference: {tmp_path / 'nope.parquet'}}}\n")
    code, out, err = run(capsys, "join", "-c", str(config))
    assert (code, out) == (2, "")
    assert_one_line_error(err, "join.reference", "nope.parquet", "is not a file")


def test_bad_join_setting_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "join.yaml"
    config.write_text("model: churn\njoin: {task: ranking}\n")
    code, _out, err = run(capsys, "join", "-c", str(config))
    assert code == 2
    assert_one_line_error(err, "join.task")


def test_a_join_only_file_is_not_enough_for_sidecar_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "join.yaml"
    config.write_text("model: churn\njoin: {}\n")
    code, out, err = run(capsys, "run", "--config", str(config))
    assert (code, out) == (2, "")
    assert_one_line_error(err, "configure at least one of 'inputs' and 'predictions'", "sidecar join")


def test_join_topics_default_to_the_sidecar_predictions_and_the_model() -> None:
    from sidecar.config import Settings

    s = Settings(model="churn", predictions={"topic": "p.topic", "contract": "c/churn", "format": "oip"}, join={})
    assert s.join is not None
    assert (s.join.predictions_topic, s.join.outcomes_topic, s.join.format) == ("p.topic", "churn.outcomes", "oip")
    alone = Settings(model="fraud", join={"task": "regression"})
    assert alone.join is not None
    assert (alone.join.predictions_topic, alone.join.format, alone.join.ttl_seconds) == (
        "fraud.predictions", "auto", 7 * 86400.0)
