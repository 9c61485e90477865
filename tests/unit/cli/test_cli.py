"""The ``sidecar`` command line: contract create/show/versions, validate, exit codes and error output.

Most tests call :func:`sidecar.cli.main` in-process and read its output with ``capsys``; one runs the
installed console script in a subprocess to prove the ``sidecar`` entry point works.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run

from sidecar import DataContract, Status, ValidationReport, cli
from sidecar.io import DataFileError, ReadHints, detect_format, hints_from_specs, read_frame

N_ROWS = 3000



@pytest.fixture
def reference() -> pd.DataFrame:
    """A small churn-like table with every column kind."""
    rng = np.random.default_rng(7)
    spend = rng.normal(100, 20, N_ROWS).round(2)
    spend[::40] = np.nan
    return pd.DataFrame({
        "age": rng.integers(18, 80, N_ROWS),
        "spend": spend,
        "plan": rng.choice(["basic", "plus", "pro"], N_ROWS, p=[0.5, 0.3, 0.2]),
        "active": rng.random(N_ROWS) < 0.7,
        "signup": pd.date_range("2024-01-01", periods=N_ROWS, freq="h"),
    })


@pytest.fixture
def ref_csv(tmp_path: Path, reference: pd.DataFrame) -> Path:
    path = tmp_path / "ref.csv"
    reference.to_csv(path, index=False)
    return path


@pytest.fixture
def ref_parquet(tmp_path: Path, reference: pd.DataFrame) -> Path:
    path = tmp_path / "ref.parquet"
    reference.to_parquet(path)
    return path


@pytest.fixture
def contract(tmp_path: Path, ref_csv: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """``DIR/NAME`` of a contract created from the CSV reference."""
    code, _, _ = run(capsys, "contract", "create", "--name", "churn", "--reference", str(ref_csv),
                     "--out", str(tmp_path / "contracts"), "--parse-dates", "signup")
    assert code == 0
    return tmp_path / "contracts" / "churn"


def write_csv(tmp_path: Path, df: pd.DataFrame, name: str) -> Path:
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path



# -- top level --------------------------------------------------------------------------------------------
def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.startswith("sidecar 0.")


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], contract: Path, ref_csv: Path) -> None:
    assert run(capsys, "validate", "--data", str(ref_csv))[0] == 2  # --contract missing
    code, _, err = run(capsys, "validate", "--contract", str(contract), "--data", str(ref_csv), "--fail-on", "x")
    assert code == 2 and "invalid choice" in err
    assert run(capsys)[0] == 2  # no command
    assert run(capsys, "contract")[0] == 2  # no contract subcommand
    assert run(capsys, "contract", "create", "--name", "x", "--reference", str(ref_csv), "--bins", "0")[0] == 2


def test_subcommand_modules_register_through_the_list(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A new command is one module with ``register(subparsers)`` appended to COMMAND_MODULES."""
    module = types.ModuleType("fake_cli_hello")

    def hello(args: argparse.Namespace, console: cli.Console) -> int:
        console.print(f"hello {args.who}")
        return 0

    def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        parser = cli.add_command(subparsers, "hello", help="say hello")
        parser.add_argument("who")
        parser.set_defaults(handler=hello)

    module.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_cli_hello", module)
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "fake_cli_hello"))
    assert run(capsys, "hello", "world", "-q") == (0, "hello world\n", "")


def test_internal_error_exit_3_with_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                              contract: Path, ref_csv: Path) -> None:
    def boom(self: DataContract, *args: object, **kwargs: object) -> ValidationReport:
        raise RuntimeError("boom")

    # Every validation, in memory or chunked, ends in DataContract.check.
    monkeypatch.setattr(DataContract, "check", boom)
    code, _, err = run(capsys, "validate", "--contract", str(contract), "--data", str(ref_csv))
    assert code == 3
    assert "Traceback" in err and "RuntimeError: boom" in err and "internal error" in err


# -- contract create ----------------------------------------------------------------------------------------
def test_create_from_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path, ref_csv: Path) -> None:
    code, out, err = run(capsys, "contract", "create", "--name", "churn", "--reference", str(ref_csv),
                         "--out", str(tmp_path / "contracts"), "--parse-dates", "signup")
    assert code == 0
    path = Path(out.strip())
    assert path == tmp_path / "contracts" / "churn" / "v1.json" and path.is_file()
    assert "reading ref.csv ... 3,000 rows, 5 columns in " in err
    assert "saved contract churn v1" in err
    loaded = DataContract.from_path(tmp_path / "contracts" / "churn")
    kinds = {c: p.spec.kind.value for c, p in loaded.reference.columns.items()}
    assert kinds == {"age": "numeric", "spend": "numeric", "plan": "categorical", "active": "boolean",
                     "signup": "datetime"}
    assert loaded.reference.n_rows == N_ROWS


def test_create_from_parquet(capsys: pytest.CaptureFixture[str], tmp_path: Path, ref_parquet: Path) -> None:
    code, out, _ = run(capsys, "contract", "create", "--name", "churn", "--reference", str(ref_parquet),
                       "--out", str(tmp_path / "c"), "--bins", "10")
    assert code == 0
    loaded = DataContract.from_file(out.strip())
    assert loaded.reference.columns["signup"].spec.kind.value == "datetime"
    assert len(loaded.reference.columns["spend"].spec.edges) == 11  # --bins reached the SDK


@pytest.mark.parametrize("name", ["ref.csv.gz", "ref.tsv", "ref.jsonl"])
def test_create_from_other_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path, reference: pd.DataFrame,
                                   name: str) -> None:
    path = tmp_path / name
    if name.endswith(".jsonl"):
        reference.to_json(path, orient="records", lines=True, date_format="iso")
    else:
        reference.to_csv(path, index=False, sep="\t" if name.endswith(".tsv") else ",")
    code, out, _ = run(capsys, "-q", "contract", "create", "--name", "x", "--reference", str(path),
                       "--out", str(tmp_path / "c"), "--parse-dates", "signup")
    assert code == 0
    loaded = DataContract.from_file(out.strip())
    assert loaded.columns == list(reference.columns)
    assert loaded.reference.columns["signup"].spec.kind.value == "datetime"


def test_create_keeps_only_columns(capsys: pytest.CaptureFixture[str], tmp_path: Path, ref_csv: Path) -> None:
    code, out, _ = run(capsys, "contract", "create", "--name", "x", "--reference", str(ref_csv),
                       "--out", str(tmp_path / "c"), "--columns", "plan,age")
    assert code == 0
    assert DataContract.from_file(out.strip()).columns == ["plan", "age"]
    code, _, err = run(capsys, "contract", "create", "--name", "x", "--reference", str(ref_csv),
                       "--out", str(tmp_path / "c"), "--columns", "age,nope")
    assert code == 2
    assert "nope" in err and "Traceback" not in err


def test_create_same_content_keeps_version_and_new_content_adds_one(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, ref_csv: Path, reference: pd.DataFrame) -> None:
    args = ["contract", "create", "--name", "churn", "--out", str(tmp_path / "c")]
    first = run(capsys, *args, "--reference", str(ref_csv))
    again = run(capsys, *args, "--reference", str(ref_csv))
    assert first[1] == again[1] and "unchanged" in again[2]
    newer = write_csv(tmp_path, reference.iloc[: N_ROWS // 2], "half.csv")
    code, out, _ = run(capsys, *args, "--reference", str(newer))
    assert code == 0 and out.strip().endswith("v2.json")

    code, out, _ = run(capsys, "contract", "versions", str(tmp_path / "c" / "churn"))
    assert code == 0
    assert "v1" in out and "3,000 rows" in out and "1,500 rows" in out and "(newest)" in out
    code, out, _ = run(capsys, "contract", "versions", str(tmp_path / "c" / "churn"), "--json")
    listed = json.loads(out)["versions"]
    assert [v["version"] for v in listed] == [1, 2] and listed[1]["newest"]


def test_create_bad_name_or_missing_reference(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              ref_csv: Path) -> None:
    code, _, err = run(capsys, "contract", "create", "--name", "../up", "--reference", str(ref_csv),
                       "--out", str(tmp_path))
    assert code == 2
    assert_one_line_error(err, "contract name")
    code, _, err = run(capsys, "contract", "create", "--name", "x", "--reference", str(tmp_path / "no.csv"),
                       "--out", str(tmp_path))
    assert code == 2
    assert_one_line_error(err, "no.csv", "does not exist")


def test_contract_named_like_a_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              ref_csv: Path) -> None:
    """A name ending in ".json" would make DIR/NAME ambiguous with a file: refused up front, exit 2."""
    code, _, err = run(capsys, "contract", "create", "--name", "inputs.json", "--reference", str(ref_csv),
                       "--out", str(tmp_path / "c"))
    assert code == 2 and ".json" in err and "Traceback" not in err


# -- contract show ------------------------------------------------------------------------------------------
def test_show_text(capsys: pytest.CaptureFixture[str], contract: Path) -> None:
    code, out, _ = run(capsys, "contract", "show", str(contract))
    assert code == 0
    loaded = DataContract.from_path(contract)
    assert out.startswith("Contract churn v1\n")
    assert loaded.sha256 is not None and loaded.sha256 in out
    assert "3,000 rows, 5 columns" in out
    assert re.search(r"plan +categorical +str +0\.00% +basic \d+\.\d%, plus \d+\.\d%, pro \d+\.\d%", out), out
    for fragment in ("age", "numeric", "int64", "signup", "datetime", "2024-01-01T00:00:00",
                     "2.50%",  # spend's null rate
                     "distribution", "method=psi warn>0.05 crit>0.2", "method=l-infinity warn>0.04 crit>0.06",
                     "special_values", "missing: warn>0.05 crit>0.1", "row_count", "min_max",
                     "warn>0.001 crit>0.005", "domain"):
        assert fragment in out, fragment


def test_show_json_and_version_file(capsys: pytest.CaptureFixture[str], contract: Path) -> None:
    code, out, _ = run(capsys, "contract", "show", str(contract), "--json")
    assert code == 0
    summary = json.loads(out)
    assert (summary["name"], summary["version"], summary["reference_rows"]) == ("churn", 1, N_ROWS)
    columns = {c["name"]: c for c in summary["columns"]}
    assert columns["age"]["min"] >= 18 and columns["age"]["max"] < 80
    assert columns["spend"]["null_rate"] == pytest.approx(0.025)
    assert columns["plan"]["top"][0]["value"] == "basic"
    assert summary["checks"]["distribution"]["spend"]["method"] == "psi"
    assert summary["checks"]["row_count"]["*"]["critical"] is None  # information unless expected= is set

    code, out_file, _ = run(capsys, "contract", "show", str(contract / "v1.json"), "--json")
    assert code == 0 and json.loads(out_file)["sha256"] == summary["sha256"]


def test_show_unknown_contract(capsys: pytest.CaptureFixture[str], tmp_path: Path, contract: Path) -> None:
    code, _, err = run(capsys, "contract", "show", str(tmp_path / "contracts" / "nope"))
    assert code == 2
    assert_one_line_error(err, "no contract 'nope'")
    code, _, err = run(capsys, "contract", "show", str(tmp_path / "contracts"))  # the directory, not a contract
    assert code == 2
    assert_one_line_error(err, "pass DIR/NAME", "churn")


# -- validate -----------------------------------------------------------------------------------------------
def test_validate_healthy_exit_0(capsys: pytest.CaptureFixture[str], contract: Path, ref_csv: Path) -> None:
    code, out, err = run(capsys, "validate", "--contract", str(contract), "--data", str(ref_csv))
    assert code == 0
    assert out.startswith("Contract churn v1: HEALTHY")
    assert "reading ref.csv ... 3,000 rows" in err and "validating ... healthy" in err


def test_validate_parquet_data_against_csv_contract(capsys: pytest.CaptureFixture[str], contract: Path,
                                                    ref_parquet: Path) -> None:
    code, out, _ = run(capsys, "-q", "validate", "--contract", str(contract), "--data", str(ref_parquet),
                       "--fail-on", "warning")
    assert code == 0 and out.splitlines()[0].startswith("Contract churn v1: HEALTHY (0 critical, 0 warning, ")


def test_validate_fail_on_threshold(capsys: pytest.CaptureFixture[str], tmp_path: Path, contract: Path,
                                    reference: pd.DataFrame) -> None:
    """An added column is a warning: below the default --fail-on critical, at --fail-on warning."""
    data = write_csv(tmp_path, reference.assign(extra=1), "extra.csv")
    args = ["validate", "--contract", str(contract), "--data", str(data)]
    code, out, _ = run(capsys, *args)
    assert code == 0 and "WARNING" in out and "column not in the contract" in out
    assert run(capsys, *args, "--fail-on", "warning")[0] == 1
    assert run(capsys, *args, "--fail-on", "critical")[0] == 0


def test_validate_drifted(capsys: pytest.CaptureFixture[str], tmp_path: Path, contract: Path,
                          reference: pd.DataFrame) -> None:
    drifted = reference.copy()
    drifted["spend"] = drifted["spend"] * 1.5
    drifted.loc[: N_ROWS // 2, "plan"] = "pro"
    data = write_csv(tmp_path, drifted, "drifted.csv")
    code, out, _ = run(capsys, "validate", "--contract", str(contract), "--data", str(data), "--fail-on", "warning")
    assert code == 1
    assert "CRITICAL" in out and "spend" in out and "plan" in out
    assert run(capsys, "validate", "--contract", str(contract), "--data", str(data))[0] == 1


def test_validate_json_and_out(capsys: pytest.CaptureFixture[str], tmp_path: Path, contract: Path,
                               ref_csv: Path) -> None:
    out_file = tmp_path / "reports" / "today.json"
    code, out, _ = run(capsys, "validate", "--contract", str(contract), "--data", str(ref_csv), "--json",
                       "--out", str(out_file))
    assert code == 0
    report = ValidationReport.from_json(out)
    assert report.status is Status.HEALTHY
    assert (report.contract, report.contract_version) == ("churn", 1)
    assert report.row_count["actual"] == N_ROWS
    assert ValidationReport.from_json(out_file.read_text()) == report


def test_validate_stdin_needs_format(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                     contract: Path, ref_csv: Path) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ref_csv.read_bytes())))
    assert run(capsys, "-q", "validate", "--contract", str(contract), "--data", "-", "--format", "csv")[0] == 0
    code, _, err = run(capsys, "validate", "--contract", str(contract), "--data", "-")
    assert code == 2
    assert_one_line_error(err, "format")


def test_validate_missing_data_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, contract: Path) -> None:
    code, out, err = run(capsys, "validate", "--contract", str(contract), "--data", str(tmp_path / "gone.csv"))
    assert code == 2
    assert out == ""
    assert_one_line_error(err, "gone.csv", "does not exist")


@pytest.mark.parametrize("content", [b"", b"\x00\xff\xfe\x01" * 64, b'a,b\n1,"unterminated\n'])
def test_validate_unreadable_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path, contract: Path,
                                 content: bytes) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    code, out, err = run(capsys, "-q", "validate", "--contract", str(contract), "--data", str(bad))
    assert code == 2 and out == ""
    assert_one_line_error(err, "bad.csv: cannot read as csv")


def test_validate_unknown_format(capsys: pytest.CaptureFixture[str], tmp_path: Path, contract: Path) -> None:
    data = tmp_path / "data.xlsx"
    data.write_bytes(b"PK")
    code, _, err = run(capsys, "validate", "--contract", str(contract), "--data", str(data))
    assert code == 2
    assert_one_line_error(err, "cannot tell the format")


def test_validate_unknown_contract(capsys: pytest.CaptureFixture[str], tmp_path: Path, ref_csv: Path) -> None:
    code, _, err = run(capsys, "validate", "--contract", str(tmp_path / "contracts" / "nope"), "--data", str(ref_csv))
    assert code == 2
    assert_one_line_error(err, "no contract 'nope'")


def test_validate_tampered_contract(capsys: pytest.CaptureFixture[str], contract: Path, ref_csv: Path) -> None:
    path = contract / "v1.json"
    path.chmod(0o644)  # saved read-only
    doc = json.loads(path.read_text())
    doc["reference"]["n_rows"] += 1
    path.write_text(json.dumps(doc))
    code, out, err = run(capsys, "validate", "--contract", str(contract), "--data", str(ref_csv))
    assert code == 2 and out == ""
    assert_one_line_error(err, "sha256 mismatch")
    code, _, err = run(capsys, "contract", "show", str(path))
    assert code == 2
    assert_one_line_error(err, "sha256 mismatch")
    code, out, _ = run(capsys, "contract", "versions", str(contract))
    assert code == 0 and "INVALID" in out


def test_validate_not_json_contract(capsys: pytest.CaptureFixture[str], tmp_path: Path, ref_csv: Path) -> None:
    bogus = tmp_path / "c" / "x" / "v1.json"
    bogus.parent.mkdir(parents=True)
    bogus.write_text("{not json")
    code, _, err = run(capsys, "validate", "--contract", str(tmp_path / "c" / "x"), "--data", str(ref_csv))
    assert code == 2
    assert_one_line_error(err, "not a JSON contract file")


def test_quiet_silences_progress(capsys: pytest.CaptureFixture[str], contract: Path, ref_csv: Path) -> None:
    for argv in (["-q", "validate"], ["validate", "-q"], ["validate", "--quiet"]):
        code, out, err = run(capsys, *argv, "--contract", str(contract), "--data", str(ref_csv))
        assert (code, err) == (0, ""), argv
        assert out.startswith("Contract churn")


# -- reading ------------------------------------------------------------------------------------------------
def test_text_columns_stay_text_when_validating_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A column of digit strings keeps its type in CSV because the contract says it is text."""
    ref = pd.DataFrame({"zip": [f"{i % 50:05d}" for i in range(500)], "n": np.arange(500)})
    ref.to_parquet(tmp_path / "ref.parquet")
    ref.to_csv(tmp_path / "cur.csv", index=False)
    assert pd.read_csv(tmp_path / "cur.csv")["zip"].dtype.kind == "i"  # what pandas alone would do
    code, _, _ = run(capsys, "-q", "contract", "create", "--name", "z", "--reference", str(tmp_path / "ref.parquet"),
                     "--out", str(tmp_path / "c"))
    assert code == 0
    code, out, _ = run(capsys, "-q", "validate", "--contract", str(tmp_path / "c" / "z"),
                       "--data", str(tmp_path / "cur.csv"), "--fail-on", "warning")
    assert code == 0, out


def test_hints_from_specs_and_datetime_units(tmp_path: Path) -> None:
    ref = pd.DataFrame({"t": pd.to_datetime(["2024-01-01", "2024-01-02"]).astype("datetime64[ns]"),
                        "s": ["a", "b"], "n": [1, 2]})
    hints = hints_from_specs(DataContract("h", ref).reference.specs)
    assert hints.text_columns == {"s"}
    assert hints.datetime_columns == {"t": "datetime64[ns]"}
    ref.to_csv(tmp_path / "h.csv", index=False)
    df = read_frame(tmp_path / "h.csv", hints=hints)
    assert str(df["t"].dtype) == "datetime64[ns]"  # parsed, then cast to the contract's unit
    unparsable = read_frame(io.BytesIO(b"t\nnot a date\n"), fmt="csv", hints=hints)
    assert not pd.api.types.is_datetime64_any_dtype(unparsable["t"])  # left for the schema check to report


def test_detect_format() -> None:
    assert detect_format("a/b.CSV.GZ") == "csv"
    assert detect_format("b.pq") == "parquet"
    assert detect_format("b.ndjson") == "jsonl"
    with pytest.raises(DataFileError, match="cannot tell the format"):
        detect_format("b.txt")
    with pytest.raises(DataFileError, match="unknown data format"):
        read_frame(io.BytesIO(b""), fmt="xls", hints=ReadHints())


# -- the installed entry point ------------------------------------------------------------------------------
def _console_script() -> str:
    beside = Path(sys.executable).parent / "sidecar"
    found = str(beside) if beside.exists() else shutil.which("sidecar")
    if found is None:
        pytest.fail("the 'sidecar' console script is not installed (pip install -e .)")
    return found


def test_console_script(tmp_path: Path, contract: Path, ref_csv: Path) -> None:
    exe = _console_script()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=120, env=env)
    assert version.returncode == 0 and version.stdout.startswith("sidecar ")

    ok = subprocess.run([exe, "validate", "--contract", str(contract), "--data", str(ref_csv), "--json"],
                        capture_output=True, text=True, timeout=120, env=env)
    assert ok.returncode == 0, ok.stderr
    assert ValidationReport.from_json(ok.stdout).status is Status.HEALTHY
    assert "validating ... healthy" in ok.stderr

    missing = subprocess.run([exe, "validate", "--contract", str(contract), "--data", str(tmp_path / "gone.csv")],
                             capture_output=True, text=True, timeout=120, env=env)
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert_one_line_error(missing.stderr, "does not exist")
