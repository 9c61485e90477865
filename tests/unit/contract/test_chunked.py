"""Chunked contract creation and validation equal the in-memory ones (contract body and report)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sidecar.contract import DataContract
from sidecar.contract.chunked import create_from_source, validate_source
from sidecar.io import hints_from_specs, read_frame


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    n = 3000
    ref = pd.DataFrame({
        "f": rng.normal(size=n),
        "i": rng.integers(0, 100, n),
        "c": rng.choice(list("abcde"), n, p=[0.4, 0.2, 0.2, 0.1, 0.1]),
        "b": rng.random(n) < 0.3,
        "id": np.arange(n),
        "t": pd.date_range("2024-01-01", periods=n, freq="min"),
    })
    ref.loc[rng.random(n) < 0.05, "f"] = np.nan
    ref["gaps"] = ref["i"].astype(float)
    ref.loc[2000:2010, "gaps"] = np.nan  # int64 in most chunks, float64 whole
    ref.loc[1500, "c"] = None
    ref.loc[[10, 1010, 2990], "c"] = "g"  # rare (hashed), its rows in different chunks
    cur = ref.copy()
    cur["f"] = cur["f"] * 1.3 + 0.2
    cur["c"] = rng.choice(list("abcdxyz"), n)
    return ref, cur


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chunked")
    ref, cur = _frames()
    ref.to_csv(root / "ref.csv", index=False)
    cur.to_csv(root / "cur.csv", index=False)
    ref.to_parquet(root / "ref.parquet", row_group_size=1100)
    cur.to_parquet(root / "cur.parquet", row_group_size=700)
    return root


@pytest.mark.parametrize("ext", ["csv", "parquet"])
@pytest.mark.parametrize("chunk_rows", [5, 999, 1777, 100_000])  # 999/1777: boundaries mid-way, mid row group
def test_chunked_equals_in_memory(files: Path, ext: str, chunk_rows: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = read_frame(files / f"ref.{ext}")
        whole = DataContract("eq", ref)
        chunked = create_from_source("eq", files / f"ref.{ext}", chunk_rows=chunk_rows)
    assert chunked._body() == whole._body()
    assert chunked.reference.columns["c"].domain_hashes  # the rare "g" is hashed, as in memory
    whole.uniqueness_test.configure(["id", "c", "gaps"])
    chunked.uniqueness_test.configure(["id", "c", "gaps"])
    current = read_frame(files / f"cur.{ext}", hints=hints_from_specs(whole.reference.specs))
    expected = whole.validate(current)
    got = validate_source(chunked, files / f"cur.{ext}", chunk_rows=chunk_rows)
    assert got.results == expected.results
    assert got.row_count == expected.row_count
    assert expected.status.value == "critical"  # the drift is found, not an empty report


def test_directory_dataset_equals_concatenation(tmp_path: Path) -> None:
    ref, _ = _frames()
    (tmp_path / "ds").mkdir()
    for k, start in enumerate((0, 1000, 2000)):
        ref.iloc[start : start + 1000].to_parquet(tmp_path / "ds" / f"part-{k}.parquet", index=False)
    (tmp_path / "ds" / "_SUCCESS").write_text("")
    whole = DataContract("ds", ref.reset_index(drop=True))
    assert create_from_source("ds", tmp_path / "ds", chunk_rows=400)._body() == whole._body()
    assert create_from_source("ds", str(tmp_path / "ds" / "part-*.parquet"), chunk_rows=400)._body() == whole._body()


def test_csv_column_numeric_then_text_is_text(tmp_path: Path) -> None:
    """Numbers in the first chunks, text later: read whole it is text, and so it is chunked."""
    values = [str(i % 7) for i in range(300)] + ["x"] * 50
    pd.DataFrame({"v": values, "n": range(350)}).to_csv(tmp_path / "m.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = DataContract("m", read_frame(tmp_path / "m.csv"))
        chunked = create_from_source("m", tmp_path / "m.csv", chunk_rows=100)
    assert chunked._body() == whole._body()
    assert "x" in chunked.reference.columns["v"].spec.categories
