"""Exact distinct counts: the hash set a column keeps up to ``ColumnSpec.exact_distinct`` non-missing rows."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.errors import ProfileMergeError
from sidecar.stats.block import plan_for, update_numeric
from sidecar.stats.coded import CodedValues
from sidecar.stats.column import ColumnProfile
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.sketch import HashSet, hash_values, ranks_from_hashes, register_ranks
from sidecar.stats.spec import ColumnSpec

EDGES = (0.0, 10.0, 20.0)


def _numeric(limit: int, name: str = "id", distinct: bool = True) -> ColumnSpec:
    return ColumnSpec(name, ColumnKind.NUMERIC, "float64", edges=EDGES, distinct=distinct, exact_distinct=limit)


def _categorical(limit: int, name: str = "key") -> ColumnSpec:
    return ColumnSpec(name, ColumnKind.CATEGORICAL, "object", exact_distinct=limit)


def _coded(values: list[str | None]) -> CodedValues:
    codes, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
    return CodedValues(codes, np.asarray(uniques, dtype=object))


def _pieces(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    bounds = sorted({0, n, *(c % (n + 1) for c in cuts)})
    return list(pairwise(bounds))


def test_sketch_and_hash_set_read_the_same_hashes() -> None:
    values = np.array([1.5, -2.0, 3.0, 1e12, 0.0])
    h = hash_values(values)
    before = h.copy()
    idx, rank = ranks_from_hashes(h, 12)
    assert np.array_equal(h, before)  # left unchanged for the hash set to reuse
    idx2, rank2 = register_ranks(values, 12)
    assert np.array_equal(idx, idx2) and np.array_equal(rank, rank2)


def test_numeric_count_leaves_out_missing_and_counts_signed_zero_once() -> None:
    prof = ColumnProfile.empty(_numeric(100))
    prof.update(np.array([1.0, 2.0, 2.0, np.nan, 0.0, -0.0, np.nan]))
    assert prof.exact_distinct_count() == 3  # 1, 2, 0: as pandas' nunique counts them
    assert prof.count - prof.nulls == 5
    assert prof.distinct == 3.0
    assert pd.Series([1.0, 2.0, 2.0, np.nan, 0.0, -0.0, np.nan]).nunique() == 3


def test_categorical_count_subtracts_repeats_within_a_batch() -> None:
    """A categorical batch arrives as its distinct values with counts: a value twice in one batch is one hash
    but two rows, so duplicates = rows - distinct sees it."""
    prof = ColumnProfile.empty(_categorical(100))
    prof.update(np.array(["a", "b", "a", None, "c", "a"], dtype=object))
    prof.update(np.array(["c", None, "d"], dtype=object))
    assert prof.exact_distinct_count() == 4
    assert prof.hashes is not None and prof.hashes.rows == prof.count - prof.nulls == 7


def test_coded_values_count_like_objects() -> None:
    values = ["x", None, "y", "x", "z", None, "y"]
    coded, objects = ColumnProfile.empty(_categorical(100)), ColumnProfile.empty(_categorical(100))
    coded.update(_coded(values))
    objects.update(np.array(values, dtype=object))
    assert coded.exact_distinct_count() == objects.exact_distinct_count() == 3
    assert coded.hashes == objects.hashes


@pytest.mark.parametrize("kind", ["numeric", "categorical"])
def test_the_set_is_dropped_once_past_the_limit(kind: str) -> None:
    """Exactly ``exact_distinct`` non-missing rows still count exactly; one more and the sketch takes over.
    Missing values do not count toward the limit."""
    spec = _numeric(10) if kind == "numeric" else _categorical(10)
    prof = ColumnProfile.empty(spec)

    def batch(start: int, stop: int) -> np.ndarray:
        if kind == "numeric":
            return np.concatenate([np.arange(start, stop, dtype=float), [np.nan] * 5])
        return np.array([f"v{i}" for i in range(start, stop)] + [None] * 5, dtype=object)

    prof.update(batch(0, 6))
    prof.update(batch(6, 10))
    assert prof.exact_distinct_count() == 10 and prof.nulls == 10
    prof.update(batch(10, 11))
    assert prof.hashes is None and prof.exact_distinct_count() is None
    prof.update(batch(11, 12))  # stays dropped
    assert prof.hashes is None
    assert 10 < prof.distinct < 14  # the sketch estimates from here on


def test_columns_without_the_limit_keep_no_set() -> None:
    plain = ColumnProfile.empty(_numeric(0))
    plain.update(np.arange(100.0))
    assert plain.hashes is None and plain.exact_distinct_count() is None
    no_sketch = ColumnProfile.empty(_numeric(100, distinct=False))  # the limit needs distinct counting on
    assert no_sketch.hashes is None
    assert plan_for((_numeric(0, "a"), _numeric(0, "b"))).exact == []


def test_block_maps_each_hashed_row_to_its_column() -> None:
    """In a block mixing columns without distinct counting, with the sketch only and with a hash set, each set
    gets its own column's hashes."""
    specs = [_numeric(0, "plain", distinct=False), _numeric(1000, "ids"), _numeric(0, "sketch_only"),
             _numeric(0, "plain2", distinct=False), _numeric(1000, "few")]
    profiles = [ColumnProfile.empty(s) for s in specs]
    n = 300
    rng = np.random.default_rng(4)
    columns = {
        "plain": rng.normal(size=n),
        "ids": np.where(np.arange(n) % 7 == 0, np.nan, np.arange(n, dtype=float)),
        "sketch_only": rng.normal(size=n),
        "plain2": rng.normal(size=n),
        "few": rng.integers(0, 5, n).astype(float),
    }
    for start, stop in ((0, 100), (100, 250), (250, 300)):
        update_numeric(profiles, {k: v[start:stop] for k, v in columns.items()}, stop - start)
    by_name = {p.spec.name: p for p in profiles}
    assert plan_for(tuple(specs)).exact == [(0, 1), (2, 4)]
    assert by_name["ids"].exact_distinct_count() == pd.Series(columns["ids"]).nunique()
    assert by_name["few"].exact_distinct_count() == 5
    assert by_name["plain"].hashes is None and by_name["sketch_only"].hashes is None


def test_from_sorted_keeps_the_set() -> None:
    present = np.array([1.0, 2.0, 2.0, 3.0])
    prof = ColumnProfile.from_sorted(_numeric(100), present, n_missing=2)
    assert prof.exact_distinct_count() == 3 and (prof.count, prof.nulls) == (6, 2)


def test_merge_equals_one_profile_of_all_rows() -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(0, 5000, 4000).astype(float)
    values[rng.random(4000) < 0.05] = np.nan
    whole, left, right = (ColumnProfile.empty(_numeric(10_000)) for _ in range(3))
    whole.update(values)
    left.update(values[:1500])
    right.update(values[1500:])
    merged = left.merge(right)
    assert merged.exact_distinct_count() == whole.exact_distinct_count() == pd.Series(values).nunique()
    assert merged.hashes == whole.hashes
    assert merged.hll == whole.hll
    # Merging does not disturb the operands.
    assert left.exact_distinct_count() == pd.Series(values[:1500]).nunique()


def test_merge_past_the_limit_drops_the_set() -> None:
    a, b = ColumnProfile.empty(_numeric(10)), ColumnProfile.empty(_numeric(10))
    a.update(np.arange(6.0))
    b.update(np.arange(6.0, 12.0))
    assert a.merge(b).hashes is None  # 12 rows > 10, as one profile of the 12 rows would be
    c = ColumnProfile.empty(_numeric(10))
    c.update(np.arange(4.0))
    assert a.merge(c).exact_distinct_count() == 6
    a.update(np.arange(20.0, 30.0))  # a is past its limit now
    assert a.hashes is None and a.merge(c).hashes is None and c.merge(a).hashes is None


def test_different_limits_refuse_to_merge() -> None:
    a, b = ColumnProfile.empty(_numeric(10)), ColumnProfile.empty(_numeric(20))
    with pytest.raises(ProfileMergeError, match=r"'id'.*exact distinct limit 10 vs 20"):
        a.merge(b)
    with pytest.raises(ProfileMergeError):
        ColumnProfile.empty(_numeric(0)).merge(a)
    with pytest.raises(ProfileMergeError):
        a.with_spec(_numeric(20))


def test_hash_set_gathers_small_batches_and_counts_once() -> None:
    s = HashSet()
    values = np.arange(3000.0) % 1000
    for i in range(3000):  # one-row batches: gathered into chunks, not kept as 3,000 arrays
        s.add(hash_values(values[i : i + 1]), 1)
    assert len(s._chunks) <= 3000 // HashSet.MAX_TAIL and len(s._tail) < HashSet.MAX_TAIL
    assert s.count() == 1000 and s.rows == 3000
    assert s.nbytes == 1000 * 8  # counted once: sorted, deduplicated, kept
    assert s.count() == 1000 and s._chunks == [] and s._tail == []
    s.add(hash_values(np.array([5000.0])), 1)
    assert s.count() == 1001


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.one_of(st.integers(-30, 30).map(float), st.just(float("nan")),
                              st.floats(-1e9, 1e9, allow_nan=False), st.just(-0.0)), max_size=120),
    cuts=st.lists(st.integers(0, 200), max_size=8),
)
def test_numeric_chunks_count_like_the_whole(values: list[float], cuts: list[int]) -> None:
    x = np.array(values, dtype=float)
    chunked, whole = ColumnProfile.empty(_numeric(1000)), ColumnProfile.empty(_numeric(1000))
    whole.update(x)
    for start, stop in _pieces(len(x), cuts):
        chunked.update(x[start:stop])
    expected = pd.Series(x).nunique()
    assert chunked.exact_distinct_count() == whole.exact_distinct_count() == expected
    assert chunked.count - chunked.nulls == int((~np.isnan(x)).sum())


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]), st.text(max_size=3)),
                    max_size=120),
    cuts=st.lists(st.integers(0, 200), max_size=8),
    coded=st.booleans(),
)
def test_categorical_chunks_count_like_the_whole(values: list[str | None], cuts: list[int], coded: bool) -> None:
    x = np.array(values, dtype=object)
    chunked, merged = ColumnProfile.empty(_categorical(1000)), ColumnProfile.empty(_categorical(1000))
    for start, stop in _pieces(len(x), cuts):
        piece = x[start:stop]
        chunked.update(_coded(list(piece)) if coded else piece)
        one = ColumnProfile.empty(_categorical(1000))
        one.update(piece)
        merged = merged.merge(one)
    expected = pd.Series(x).nunique()
    assert chunked.exact_distinct_count() == merged.exact_distinct_count() == expected
