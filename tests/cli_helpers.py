"""Running ``sidecar`` in-process from tests, and the one-line error contract every command keeps."""

from __future__ import annotations

import pytest

from sidecar import cli

__all__ = ["assert_one_line_error", "run"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``sidecar argv...`` in-process; returns (exit code, stdout, stderr)."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *fragments: str) -> None:
    """stderr is exactly one ``sidecar: error:`` line holding ``fragments``, without a traceback."""
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith("sidecar: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
