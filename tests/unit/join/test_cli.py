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
