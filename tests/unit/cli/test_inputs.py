"""Input errors of ``contract create`` and ``validate``: exit 2, one line on stderr, nothing written."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from sidecar.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str, fragment: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sidecar: error: ") and fragment in lines[0], err


@pytest.fixture
def contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    pd.DataFrame({"a": range(200), "b": ["x", "y"] * 100}).to_csv(tmp_path / "ref.csv", index=False)
    code, _, _ = _run(capsys, "-q", "contract", "create", "--name", "c", "--reference", str(tmp_path / "ref.csv"),
                      "--out", str(tmp_path / "contracts"))
    assert code == 0
    return tmp_path / "contracts" / "c"


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[str, str]]:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("a,b\n")
    (tmp_path / "nodata").mkdir()
    (tmp_path / "nodata" / "notes.txt").write_text("hi")
    (tmp_path / "semi.csv").write_text("a;b\n1;x\n2;y\n")
    (tmp_path / "mixed").mkdir()
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "mixed" / "p1.parquet")
    pd.DataFrame({"a": ["1", "2"]}).to_parquet(tmp_path / "mixed" / "p2.parquet")
    return {
        "empty": (str(tmp_path / "empty.csv"), "empty (0 bytes)"),
        "header-only": (str(tmp_path / "header.csv"), "no rows"),
        "no data files": (str(tmp_path / "nodata"), "holds no data files"),
        "no glob match": (str(tmp_path / "none-*.csv"), "no data files match"),
        "wrong sep": (str(tmp_path / "semi.csv"), "pass --sep ';'"),
        "schema mismatch": (str(tmp_path / "mixed"), "p2.parquet"),
    }


@pytest.mark.parametrize("case", ["empty", "header-only", "no data files", "no glob match", "wrong sep",
                                  "schema mismatch"])
def test_create_input_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    data, fragment = _bad_inputs(tmp_path)[case]
    extra = ["--sep", ","] if case == "wrong sep" else []
    code, out, err = _run(capsys, "contract", "create", "--name", "n", "--reference", data,
                          "--out", str(tmp_path / "out"), *extra)
    assert (code, out) == (2, "")
    _one_line(err, fragment)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["empty", "header-only", "no data files", "no glob match", "wrong sep",
                                  "schema mismatch"])
def test_validate_input_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], contract: Path, case: str) -> None:
    data, fragment = _bad_inputs(tmp_path)[case]
    extra = ["--sep", ","] if case == "wrong sep" else []
    report = tmp_path / "report.json"
    code, out, err = _run(capsys, "-q", "validate", "--contract", str(contract), "--data", data, "--out", str(report),
                          *extra)
    assert (code, out) == (2, "")
    _one_line(err, fragment)
    assert not report.exists()


@pytest.mark.parametrize(("sep", "flag"), [(";", None), ("\t", None), ("|", None), (";", ";"), ("\t", "\\t")])
def test_sniffed_or_given_separator(tmp_path: Path, capsys: pytest.CaptureFixture[str], sep: str,
                                    flag: str | None) -> None:
    df = pd.DataFrame({"a": range(150), "b": ['x, "quoted"', "y;z"] * 75})
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt") as f:
        df.to_csv(f, sep=sep, index=False)
    extra = ["--sep", flag] if flag else []
    code, out, err = _run(capsys, "-q", "contract", "create", "--name", "s", "--reference", str(path),
                          "--out", str(tmp_path / "c"), *extra)
    assert code == 0, err
    code, out, err = _run(capsys, "contract", "show", str(tmp_path / "c" / "s"), "--json")
    assert "\"name\": \"b\"" in out and "150 rows" not in err
    code, out, err = _run(capsys, "validate", "--contract", str(tmp_path / "c" / "s"), "--data", str(path),
                          "--quiet", *extra)
    assert code == 0 and err == ""


def test_latin1_encoding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes(b"name,n\n" + "".join(f"café{i % 3},{i}\n" for i in range(120)).encode("latin-1"))
    code, _, err = _run(capsys, "-q", "contract", "create", "--name", "l", "--reference", str(path),
                        "--out", str(tmp_path / "c"), "--encoding", "latin-1")
    assert code == 0, err
    code, out, _ = _run(capsys, "contract", "show", str(tmp_path / "c" / "l"))
    assert "café0" in out


def test_glob_dataset_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str], contract: Path) -> None:
    for k in range(3):
        pd.DataFrame({"a": range(k * 70, k * 70 + 70), "b": ["x", "y"] * 35}).to_csv(
            tmp_path / f"part-{k}.csv", index=False)
    code, out, err = _run(capsys, "validate", "--contract", str(contract), "--data", str(tmp_path / "part-*.csv"),
                          "--chunk-rows", "50")
    assert "reading part-*.csv ... 210 rows" in err
    assert code in (0, 1) and "210" in out
