"""Uniqueness in stream windows: exact up to ``exact_rows`` non-missing rows (a hash set), then the sketch."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sidecar import DataContract, Status
from sidecar.checks.uniqueness import EXACT_ROWS, UniquenessSettings
from sidecar.errors import ProfileMergeError
from sidecar.report.model import CheckResult
from sidecar.stats.coded import CodedValues
from sidecar.stats.profile import Profile

N = 20_000
BATCH = 500


def _ids(n: int) -> np.ndarray:
    """Customer ids: unique, large, not sequential (shuffled)."""
    return np.random.default_rng(11).permutation(n) + 7_000_000


def _numeric(ids: np.ndarray) -> np.ndarray:
    return ids.astype(np.float64)


def _strings(ids: np.ndarray) -> np.ndarray:
    return np.array([f"cust-{i}" for i in ids], dtype=object)


def _coded(ids: np.ndarray) -> CodedValues:
    """What the Arrow decoder hands a window: dictionary codes into the batch's distinct values."""
    codes, uniques = pd.factorize(_strings(ids), use_na_sentinel=True)
    return CodedValues(codes, np.asarray(uniques, dtype=object))


ENCODERS: dict[str, tuple[str, Callable[[np.ndarray], Any]]] = {
    "int ids": ("cust_id", _numeric),
    "int64 array": ("cust_id", lambda ids: ids.astype(np.int64)),
    "string ids": ("email", _strings),
    "arrow-like codes": ("email", _coded),
}


def _contract(**kwargs: Any) -> DataContract:
    ids = _ids(2000)
    reference = pd.DataFrame({"cust_id": ids, "email": _strings(ids),
                              "spend": np.random.default_rng(0).gamma(2.0, 50.0, ids.size)})
    contract = DataContract("ids", reference)
    contract.uniqueness_test.configure(["cust_id", "email"], **kwargs)
    return contract


def _window(contract: DataContract, column: str, encode: Callable[[np.ndarray], Any], ids: np.ndarray,
            batch: int = BATCH) -> Profile:
    """A stream window as the sidecar builds it: decoded batches folded in with ``Profile.update``."""
    profile = contract.new_profile()
    spend = np.random.default_rng(1).gamma(2.0, 50.0, ids.size)
    for start in range(0, ids.size, batch):
        part = ids[start : start + batch]
        profile.update({column: encode(part), "spend": spend[start : start + batch]}, part.size)
    return profile


def _row(profile_or_report: Any, column: str) -> CheckResult:
    (row,) = [r for r in profile_or_report.results if r.check == "uniqueness" and r.column == column]
    return row


@pytest.mark.parametrize("encoding", list(ENCODERS))
def test_unique_ids_stream_with_exactly_zero_duplicates(encoding: str) -> None:
    """The sketch alone reports a percent or two of phantom duplicates for unique ids (its error); the hash
    set counts exactly none, so the row is healthy for the right reason."""
    column, encode = ENCODERS[encoding]
    contract = _contract()
    row = _row(contract.check(_window(contract, column, encode, _ids(N))), column)
    assert row.status is Status.HEALTHY and row.value == 0.0
    assert row.details["duplicates"] == 0 and row.details["non_missing"] == N
    assert row.details["exact"] is True and row.details["method"] == "hash set"
    assert "noise_bound" not in row.details  # an exact count has no sampling noise


@pytest.mark.parametrize("encoding", list(ENCODERS))
def test_injected_duplicates_counted_exactly_and_as_in_batch(encoding: str) -> None:
    column, encode = ENCODERS[encoding]
    ids = _ids(N)
    ids[-7:] = ids[[3, 500, 501, 9000, 12_345, 15_000, 19_000]]  # 7 repeats, each in another batch
    contract = _contract()
    stream = _row(contract.check(_window(contract, column, encode, ids)), column)
    frame = pd.DataFrame({"cust_id": ids, "email": _strings(ids)})
    batch = _row(contract.validate(frame), column)
    assert stream.details["duplicates"] == batch.details["duplicates"] == 7
    assert stream.value == batch.value == pytest.approx(7 / N)
    assert stream.status is batch.status is Status.WARNING  # any duplicate warns; critical is over 1%
    assert (stream.details["method"], batch.details["method"]) == ("hash set", "rows")


def test_missing_values_are_neither_values_nor_duplicates() -> None:
    contract = _contract()
    ids = _numeric(_ids(N))
    ids[::10] = np.nan
    row = _row(contract.check(_window(contract, "cust_id", lambda x: x, ids)), "cust_id")
    assert row.details["duplicates"] == 0 and row.details["non_missing"] == N - N // 10
    strings = _strings(_ids(N))
    strings[::10] = None
    row = _row(contract.check(_window(contract, "email", lambda x: x, strings)), "email")
    assert row.details["duplicates"] == 0 and row.details["non_missing"] == N - N // 10


@pytest.mark.parametrize("encoding", ["int ids", "string ids"])
def test_past_the_limit_the_sketch_counts_and_its_error_is_tolerated(encoding: str) -> None:
    column, encode = ENCODERS[encoding]
    contract = _contract(exact_rows=5000)
    profile = _window(contract, column, encode, _ids(N))
    assert profile.columns[column].hashes is None
    row = _row(contract.check(profile), column)
    assert row.details["exact"] is False and row.details["method"] == "sketch"
    assert row.details["noise_bound"] > 0
    assert row.status is Status.HEALTHY  # unique ids still do not alarm


def test_exact_rows_zero_is_the_sketch_alone() -> None:
    contract = _contract(exact_rows=0)
    assert all(s.exact_distinct == 0 for s in contract.current_specs())
    profile = _window(contract, "cust_id", _numeric, _ids(2000))
    assert profile.columns["cust_id"].hashes is None
    assert _row(contract.check(profile), "cust_id").details["method"] == "sketch"


def test_only_uniqueness_columns_keep_a_set() -> None:
    specs = {s.name: s for s in _contract(exact_rows=12_345).current_specs()}
    assert specs["cust_id"].exact_distinct == specs["email"].exact_distinct == 12_345
    assert specs["spend"].exact_distinct == 0 and not specs["spend"].distinct


def test_merged_windows_equal_one_window_of_all_rows() -> None:
    """Two pods' windows (alternating batches, one repeat across them) merge into what one window of all rows
    says: the day is the sum of its windows."""
    contract = _contract()
    ids = _ids(N)
    ids[-1] = ids[0]
    whole = contract.new_profile()
    left, right = contract.new_profile(), contract.new_profile()
    for i, start in enumerate(range(0, N, BATCH)):
        part = ids[start : start + BATCH]
        columns = {"cust_id": _numeric(part), "email": _strings(part)}
        whole.update(columns, part.size)
        (left if i % 2 else right).update(columns, part.size)
    merged = left.merge(right)
    for column in ("cust_id", "email"):
        a, b = _row(contract.check(merged), column), _row(contract.check(whole), column)
        assert a.details == b.details and a.value == b.value and a.status is b.status
        assert a.details["duplicates"] == 1 and a.details["exact"] is True


def test_windows_with_different_limits_refuse_to_merge() -> None:
    a, b = _contract(exact_rows=1000).new_profile(), _contract(exact_rows=2000).new_profile()
    with pytest.raises(ProfileMergeError, match="exact distinct limit 1000 vs 2000"):
        a.merge(b)


@pytest.mark.parametrize("bad", [-1, 2.5, True, "1000", None])
def test_exact_rows_must_be_a_whole_number(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"uniqueness column 'cust_id': exact_rows must be a whole number >= 0"):
        _contract(exact_rows=bad)


def test_setting_round_trips_and_old_files_still_load(tmp_path: Path) -> None:
    default = _contract()
    path = default.save(tmp_path)
    settings = json.loads(path.read_text())["checks"]["uniqueness"]
    assert "exact_rows" not in settings["cust_id"]  # the default is not written: older files hash the same
    loaded = DataContract.load(tmp_path, "ids")
    s = loaded.uniqueness_test.settings["cust_id"]
    assert isinstance(s, UniquenessSettings) and s.exact_rows == EXACT_ROWS
    assert default.save(tmp_path) == path  # unchanged content: no new version

    custom = _contract(exact_rows=5000)
    path2 = custom.save(tmp_path)
    assert path2 != path
    assert json.loads(path2.read_text())["checks"]["uniqueness"]["email"]["exact_rows"] == 5000
    again = DataContract.load(tmp_path, "ids")
    assert {s.name: s.exact_distinct for s in again.current_specs()}["email"] == 5000
