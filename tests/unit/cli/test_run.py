"""``sidecar run``: configuration and contract problems end with one line and exit 2, before serving."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sidecar.cli import main


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("model: m\ninputs: {topic: t, contract: /nonexistent/c}\n", "no contract 'c'"),
        ("model: m\ninputs: {topic: t}\n", "inputs.contract: Field required"),
        ("model: m\n", "at least one"),
    ],
)
def test_bad_configuration_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str,
                                   message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(config)
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_run_without_any_settings_says_how_to_pass_config(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--config FILE" in err and "model: Field required" in err
