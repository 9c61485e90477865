"""README examples run in the test suite, so they never rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_opens_with_the_two_commands() -> None:
    text = README.read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S)
    assert first_block and "make demo" in first_block.group(1) and "make test" in first_block.group(1)


@pytest.mark.parametrize("block", _python_blocks())
def test_readme_python_examples_run(block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(block, str(README), "exec"), {"__name__": "readme"})


def test_readme_sidecar_config_is_valid() -> None:
    import yaml

    from sidecar.config import Settings

    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        Settings(**yaml.safe_load(block))
