"""``sidecar contract diff DIR NAME [--from vN] [--to vM] [--json]``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run

from sidecar import DataContract


@pytest.fixture
def three_versions(tmp_path: Path, reference: pd.DataFrame) -> Path:
    directory = tmp_path / "contracts"
    c = DataContract("churn", reference)
    c.save(directory)  # v1
    c.distribution_test.configure(["tenure"], threshold=0.3, method="ks")
    c.save(directory)  # v2
    shifted = DataContract("churn", reference.assign(tenure=reference["tenure"] + 8).drop(columns=["active"]))
    shifted.save(directory)  # v3
    return directory


def test_default_compares_the_newest_two(capsys, three_versions: Path) -> None:
    code, out, err = run(capsys, "contract", "diff", str(three_versions), "churn")
    assert code == 0, err
    assert out.startswith("Contract churn v2 -> churn v3")
    assert "removed  active" in out
    tenure = next(line for line in out.splitlines() if line.strip().startswith("tenure ") and "ks" in line)
    assert tenure.rstrip().endswith("critical")


def test_from_to_and_json(capsys, three_versions: Path) -> None:
    code, out, err = run(capsys, "contract", "diff", str(three_versions), "churn", "--from", "v1", "--to", "2",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["before"]["version"] == 1 and data["after"]["version"] == 2 and data["columns"] == []
    changed = {(c["column"], c["setting"]): (c["before"], c["after"]) for c in data["checks"]}
    assert changed == {("tenure", "method"): ("psi", "ks"), ("tenure", "critical"): (0.2, 0.3)}
    assert all(d["status"] in ("healthy", "skipped") for d in data["drift"])
    # Only --from: compared with the newest.
    code, out, _ = run(capsys, "contract", "diff", str(three_versions), "churn", "--from", "v1", "--json")
    assert code == 0 and json.loads(out)["after"]["version"] == 3


def test_one_version_is_exit_2(capsys, tmp_path: Path, reference: pd.DataFrame) -> None:
    DataContract("churn", reference).save(tmp_path)
    code, out, err = run(capsys, "contract", "diff", str(tmp_path), "churn")
    assert code == 2 and out == ""
    assert_one_line_error(err, "only one version", "v1")


@pytest.mark.parametrize(("args", "fragment"), [
    (("--from", "v9"), "--from v9: contract 'churn' has versions v1, v2, v3"),
    (("--to", "v1"), "no version before v1"),
    (("--from", "vx"), "expected a version such as v2"),
])
def test_bad_versions_exit_2(capsys, three_versions: Path, args: tuple[str, ...], fragment: str) -> None:
    code, out, err = run(capsys, "contract", "diff", str(three_versions), "churn", *args)
    assert code == 2 and out == ""
    assert fragment in err and "Traceback" not in err


def test_unknown_contract_exit_2(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "contract", "diff", str(tmp_path), "nope")
    assert code == 2 and out == ""
    assert_one_line_error(err, "no contract 'nope'")
