"""``sidecar contract create --spec``: a contract configured by a spec file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run

from sidecar import DataContract


@pytest.fixture
def ref_csv(tmp_path: Path, reference: pd.DataFrame) -> Path:
    path = tmp_path / "ref.csv"
    reference.drop(columns=["signup"]).to_csv(path, index=False)
    return path


SPEC = """\
# contract spec
name: churn
table:
  row_count: {expected: 5000, critical: 0.5}
columns:
  age:
    min_max: {lower_bound: 0, upper_bound: 120}
  plan:
    distribution: {method: psi, threshold: 0.2}
"""


def test_create_with_spec_takes_the_name_from_the_spec(capsys, tmp_path: Path, ref_csv: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    code, out, err = run(capsys, "contract", "create", "--spec", str(spec), "--reference", str(ref_csv),
                         "--out", str(tmp_path / "contracts"))
    assert code == 0, err
    assert out.strip() == str(tmp_path / "contracts" / "churn" / "v1.json")
    c = DataContract.load(tmp_path / "contracts", "churn")
    assert c.settings["min_max"]["age"].upper_bound == 120.0
    assert c.settings["distribution"]["plan"].method == "psi"
    assert c.settings["row_count"]["*"].expected == 5000
    # The same spec through the SDK gives the same content.
    again = DataContract.from_spec(pd.read_csv(ref_csv), spec)
    assert again._body()["checks"] == c._body()["checks"]


def test_name_option_wins_over_the_spec(capsys, tmp_path: Path, ref_csv: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"name": "churn", "columns": {"age": {"uniqueness": true}}}')
    code, _, err = run(capsys, "contract", "create", "--name", "other", "--spec", str(spec),
                         "--reference", str(ref_csv), "--out", str(tmp_path / "contracts"))
    assert code == 0, err
    assert DataContract.load(tmp_path / "contracts", "other").settings["uniqueness"]["age"].critical == 0.01


@pytest.mark.parametrize(("text", "fragments"), [
    ("name: churn\ntable:\n  row_count:\n    expeted: 500\n", ("unknown key 'expeted'", "line 4", "'expected'")),
    ("name: churn\ncolumns:\n  agee: {min_max: true}\n", ("unknown column 'agee'", "line 3")),
    ("name: churn\ncolumns:\n  plan: {min_max: true}\n", ("min_max: column 'plan'", "line 3")),
    ("columns: {}\n", ("--name is required",)),
])
def test_bad_spec_is_one_line_exit_2_and_writes_nothing(capsys, tmp_path: Path, ref_csv: Path, text: str,
                                                        fragments: tuple[str, ...]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    # -q: column errors come after reading the reference, whose progress line would precede them.
    code, out, err = run(capsys, "-q", "contract", "create", "--spec", str(spec), "--reference", str(ref_csv),
                         "--out", str(tmp_path / "contracts"))
    assert code == 2 and out == ""
    assert_one_line_error(err, *fragments)
    assert not (tmp_path / "contracts").exists()


def test_missing_spec_file_and_missing_name(capsys, tmp_path: Path, ref_csv: Path) -> None:
    code, _, err = run(capsys, "contract", "create", "--spec", str(tmp_path / "nope.yaml"), "--reference",
                       str(ref_csv), "--out", str(tmp_path / "contracts"))
    assert code == 2
    assert_one_line_error(err, "nope.yaml", "does not exist")
    code, _, err = run(capsys, "contract", "create", "--reference", str(ref_csv), "--out", str(tmp_path / "c"))
    assert code == 2
    assert_one_line_error(err, "--name is required")
    assert not (tmp_path / "contracts").exists() and not (tmp_path / "c").exists()
