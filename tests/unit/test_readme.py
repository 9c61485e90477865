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

    blocks = [b for b in _yaml_blocks() if not b.startswith(SPEC_MARK)]
    assert blocks
    for block in blocks:
        Settings(**yaml.safe_load(block))


#: First line of a YAML block that is a contract spec, not sidecar settings.
SPEC_MARK = "# contract spec\n"


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_spec_twin_gives_the_sdk_example_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec block under the SDK example configures the same contract, byte for byte."""
    import yaml

    from sidecar import DataContract
    from sidecar.contract.fileformat import content_hash

    (spec,) = [b for b in _yaml_blocks() if b.startswith(SPEC_MARK)]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(_python_blocks()[0], str(README), "exec"), namespace)
    sdk = namespace["contract"]
    assert isinstance(sdk, DataContract)
    (tmp_path / "spec.yaml").write_text(spec)
    from_spec = DataContract.from_spec(namespace["reference_df"], tmp_path / "spec.yaml")  # type: ignore[arg-type]
    assert from_spec._body()["checks"] == sdk._body()["checks"]
    assert content_hash(from_spec._body()) == content_hash(sdk._body())
    assert from_spec.name == sdk.name and yaml.safe_load(spec)["name"] == "churn_inputs"


def test_readme_worked_verdict_example_is_what_the_code_says() -> None:
    """The "How a verdict is made" table is recomputed here, so it never drifts from the code."""
    import numpy as np
    import pandas as pd

    from sidecar import DataContract

    def frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
        # tenure and 67 other normal columns: a 68-feature report, 204 noise-judged tests.
        return pd.DataFrame({"tenure": rng.normal(24 + shift, 8, n),
                             **{f"x{i:02d}": rng.normal(0, 1, n) for i in range(67)}})

    text = README.read_text()
    rng = np.random.default_rng(4)
    reference = frame(rng, 10_000)
    contract, per_check = DataContract("churn", reference), DataContract("churn", reference, family_wise=False)
    for n, shift, verdict, alone in [(200, 0.0, "healthy", "healthy"), (200, 6.0, "critical", "critical"),
                                     (500, 2.0, "healthy", "warning"), (500, 2.4, "warning", "warning"),
                                     (20_000, 4.0, "critical", "critical"), (20_000, 1.0, "healthy", "healthy")]:
        current = frame(rng, n, shift)
        rows = []
        for c in (contract, per_check):
            (row,) = [r for r in c.validate(current).results if r.check == "distribution" and r.column == "tenure"]
            rows.append(row)
        d = rows[0].details
        assert d["family_tests"] == 204
        line = f"| {rows[0].value:.3f} | {d['noise_bound_warning']:.3f} / {d['noise_bound']:.3f} |"
        assert line in text, line
        assert rows[0].status.value == verdict and rows[1].status.value == alone
        if n == 500:
            per = rows[1].details
            said = text.split("per-check bounds of", 1)[1][:40]
            assert f"{per['noise_bound_warning']:.3f} / {per['noise_bound']:.3f}" in said
