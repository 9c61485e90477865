"""Profiles: counting, merging as a monoid, serialisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.errors import ProfileMergeError
from sidecar.stats.column import ColumnProfile
from sidecar.stats.distances import l_infinity
from sidecar.stats.histogram import bin_counts, quantile_edges
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.profile import Profile, reference_profile
from sidecar.stats.serialize import column_from_dict, column_to_dict
from sidecar.stats.spec import ColumnSpec


def _counts_equal(a: Profile, b: Profile) -> None:
    assert a.n_rows == b.n_rows
    for name, pa in a.columns.items():
        pb = b.columns[name]
        assert (pa.count, pa.nulls, pa.below, pa.above, pa.other) == (pb.count, pb.nulls, pb.below, pb.above, pb.other)
        assert pa.special.tolist() == pb.special.tolist()
        assert pa.hist.tolist() == pb.hist.tolist()
        assert pa.categories == pb.categories
        assert pa.hll == pb.hll
        np.testing.assert_equal([pa.minimum, pa.maximum], [pb.minimum, pb.maximum])


def test_reference_profile_counts(reference: pd.DataFrame) -> None:
    prof = reference_profile(reference)
    spend = prof.columns["spend"]
    assert spend.count == len(reference)
    assert spend.nulls == int(reference["spend"].isna().sum())
    assert spend.hist.sum() == len(reference)
    assert spend.hist[-1] == spend.nulls  # missing values have a bin of their own
    assert prof.columns["plan"].spec.kind is ColumnKind.CATEGORICAL
    assert prof.columns["active"].spec.kind is ColumnKind.BOOLEAN
    assert prof.columns["signup"].spec.kind is ColumnKind.DATETIME
    assert prof.columns["age"].minimum == reference["age"].min()


def test_discrete_numbers_get_a_bin_per_value() -> None:
    edges = quantile_edges(np.array([0.0, 1.0, 2.0, 2.0, 1.0]))
    counts = bin_counts(np.array([0.0, 1.0, 1.0, 2.0, 2.0, 2.0]), edges)
    assert counts[1:4].tolist() == [1, 2, 3]


def test_constant_reference_column() -> None:
    edges = quantile_edges(np.array([5.0, 5.0, 5.0]))
    assert bin_counts(np.array([4.0, 5.0, 6.0, np.nan]), edges).tolist() == [1, 1, 1, 1]


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=200),
    cats=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "1"]), st.just(1)), min_size=1, max_size=200),
    split=st.floats(0, 1),
)
def test_merge_of_chunks_equals_whole(values: list[float | None], cats: list[object], split: float) -> None:
    n = min(len(values), len(cats))
    df = pd.DataFrame({"x": pd.array(values[:n], dtype="Float64"), "c": pd.Series(cats[:n], dtype=object)})
    ref = reference_profile(pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 10.0], "c": ["a", "b", "a", 1, "c"]}))
    specs = [s.with_(special_values=(1.0,)) if s.is_numeric else s.with_(special_values=("a",)) for s in ref.specs]
    k = int(n * split)
    whole = Profile.from_frame(df, specs)
    merged = Profile.from_frame(df.iloc[:k], specs).merge(Profile.from_frame(df.iloc[k:], specs))
    _counts_equal(whole, merged)
    for name, p in whole.columns.items():
        assert l_infinity(ref.columns[name].bin_counts(), p.bin_counts()) == l_infinity(
            ref.columns[name].bin_counts(), merged.columns[name].bin_counts()
        )


def test_empty_is_identity(reference: pd.DataFrame) -> None:
    ref = reference_profile(reference)
    cur = Profile.from_frame(reference, ref.specs)
    _counts_equal(cur, cur.merge(Profile.empty(ref.specs)))
    _counts_equal(cur, Profile.empty(ref.specs).merge(cur))


def test_stream_update_equals_frame_profile(reference: pd.DataFrame) -> None:
    ref = reference_profile(reference)
    whole = Profile.from_frame(reference, ref.specs)
    stream = Profile.empty(ref.specs)
    for start in range(0, len(reference), 777):
        chunk = reference.iloc[start : start + 777]
        cols = {}
        for spec in ref.specs:
            s = chunk[spec.name]
            if spec.kind is ColumnKind.DATETIME:
                cols[spec.name] = s.to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9
            elif spec.is_numeric:
                cols[spec.name] = s.to_numpy(dtype=float, na_value=np.nan)
            else:
                cols[spec.name] = s.astype(object).to_numpy()
        stream.update(cols, len(chunk))
    _counts_equal(whole, stream)


def test_merge_with_other_edges_names_column_and_edges() -> None:
    a = ColumnProfile.empty(ColumnSpec("x", ColumnKind.NUMERIC, "float64", edges=(0.0, 1.0)))
    b = ColumnProfile.empty(ColumnSpec("x", ColumnKind.NUMERIC, "float64", edges=(0.0, 2.0)))
    with pytest.raises(ProfileMergeError, match=r"'x'.*\[0.0, 1.0\].*\[0.0, 2.0\]"):
        a.merge(b)


def test_one_and_string_one_are_different_categories() -> None:
    ref = reference_profile(pd.DataFrame({"c": pd.Series([1, "1", "1", 1, 1], dtype=object)}), min_value_count=1)
    assert ref.columns["c"].categories == {1: 3, "1": 2}
    restored = column_from_dict(column_to_dict(ref.columns["c"]))
    assert restored.categories == {1: 3, "1": 2}
    assert restored.spec.categories == ref.columns["c"].spec.categories


def test_category_counts_stay_bounded() -> None:
    from sidecar.stats.column import CATEGORY_CAP

    values = pd.Series([f"v{i}" for i in range(CATEGORY_CAP * 3)] + ["hot"] * 50)
    prof = reference_profile(pd.DataFrame({"c": values}), min_value_count=1).columns["c"]
    assert len(prof.categories) == CATEGORY_CAP
    assert prof.categories["hot"] == 50
    assert prof.other + sum(prof.categories.values()) == len(values)
    assert abs(prof.distinct - CATEGORY_CAP * 3) / (CATEGORY_CAP * 3) < 0.05


def test_pyarrow_backed_frames_profile_like_numpy_ones(reference: pd.DataFrame) -> None:
    arrow = reference.convert_dtypes(dtype_backend="pyarrow")
    ref = reference_profile(reference)
    a, b = Profile.from_frame(reference, ref.specs), Profile.from_frame(arrow, ref.specs)
    assert not b.type_errors
    for name in ("age", "tenure", "spend", "plan", "active"):
        assert a.columns[name].bin_counts().tolist() == b.columns[name].bin_counts().tolist()


def test_serialisation_round_trip(reference: pd.DataFrame) -> None:
    ref = reference_profile(reference)
    again = Profile.from_dict(ref.to_dict())
    _counts_equal(ref, again)
    assert again.specs == ref.specs


def test_reference_pass_counts_like_the_current_pass(reference: pd.DataFrame) -> None:
    """The reference pass bins sorted values by binary search; it must agree with the general path (with every
    value kept raw and no identifier blanked, so both sides hold the same numbers)."""
    ref = reference_profile(reference, min_value_count=1, identifiers=[])
    _counts_equal(ref, Profile.from_frame(reference, ref.specs))


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0, 2.0])),
                    max_size=60),
    edges=st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=8, unique=True),
)
def test_bin_counts_match_a_searchsorted_reference(values: list[float], edges: list[float]) -> None:
    from sidecar.stats.histogram import bin_counts_sorted

    e = np.array(sorted(edges))
    x = np.array(values, dtype=float)
    idx = np.searchsorted(e, x, side="right")
    idx[x == e[-1]] = len(e) - 1
    idx[np.isnan(x)] = len(e) + 1
    expected = np.bincount(idx, minlength=len(e) + 2)
    assert bin_counts(x, e).tolist() == expected.tolist()
    present = np.sort(x[~np.isnan(x)])
    assert bin_counts_sorted(present, e, int(np.isnan(x).sum())).tolist() == expected.tolist()


def test_more_than_255_bins_count_correctly() -> None:
    """Regression: slot numbers past 255 once wrapped around in the block's uint8 arithmetic."""
    x = np.random.default_rng(3).normal(size=20_000)
    x[::50] = np.nan
    df = pd.DataFrame({"x": x})
    ref = reference_profile(df, n_bins=400)
    cur = Profile.from_frame(df, ref.specs)
    assert len(ref.specs[0].edges) > 300
    assert cur.columns["x"].hist.tolist() == ref.columns["x"].hist.tolist()
    assert cur.columns["x"].hist[-1] == 400


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(st.lists(st.one_of(st.floats(-20, 20), st.just(float("nan")), st.sampled_from([-5.0, 0.0, 5.0])),
                           min_size=1, max_size=40), min_size=1, max_size=5),
    edges=st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=8, unique=True),
    bounds=st.tuples(st.one_of(st.none(), st.floats(-15, 0)), st.one_of(st.none(), st.floats(0, 15))),
)
def test_block_fold_matches_a_column_by_column_reference(
        data: list[list[float]], edges: list[float], bounds: tuple[float | None, float | None]) -> None:
    """Several columns folded as one block (nulls, extremes, histogram, rows outside min/max bounds) equal
    each column counted on its own: the block moves missing values out of slot 0 by their count and counts
    bounds only for columns whose extremes cross them."""
    from sidecar.stats.block import update_numeric

    n = min(len(col) for col in data)
    e = tuple(sorted(edges))
    lower, upper = bounds
    specs = [ColumnSpec(f"x{j}", ColumnKind.NUMERIC, "float64", edges=e, lower=lower, upper=upper, distinct=False)
             for j in range(len(data))]
    profiles = [ColumnProfile.empty(s) for s in specs]
    columns = {s.name: np.array(col[:n], dtype=float) for s, col in zip(specs, data, strict=True)}
    update_numeric(profiles, columns, n)
    for spec, prof in zip(specs, profiles, strict=True):
        x = columns[spec.name]
        present = x[~np.isnan(x)]
        assert (prof.count, prof.nulls) == (n, n - len(present))
        assert prof.hist.tolist() == bin_counts(x, np.array(e)).tolist()
        assert prof.below == (int((present < lower).sum()) if lower is not None else 0)
        assert prof.above == (int((present > upper).sum()) if upper is not None else 0)
        if len(present):
            assert (prof.minimum, prof.maximum) == (present.min(), present.max())
        else:
            assert np.isnan(prof.minimum) and np.isnan(prof.maximum)


def test_rare_values_and_identifiers_are_never_stored() -> None:
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({
        "email": [f"user{i}@example.com" for i in range(n)],  # all unique: an identifier
        "key": np.arange(10_000, 10_000 + n),  # all-unique integers: an identifier
        "city": ["berlin"] * 200 + ["paris"] * 195 + ["oslo"] * 4 + ["rome"],  # oslo, rome: rare
        "x": rng.normal(size=n),
    })
    ref = reference_profile(df)
    email, key, city = ref.columns["email"], ref.columns["key"], ref.columns["city"]
    assert email.spec.identifier and key.spec.identifier and not city.spec.identifier
    assert not ref.columns["x"].spec.identifier  # unique floats are measurements, not ids
    assert city.spec.categories == ("berlin", "paris") and city.other == 5 and city.singletons == 1
    assert city.domain_hashes is not None and len(city.domain_hashes) == 2
    text = str(ref.to_dict())
    for raw in ("user0@example.com", "oslo", "rome", "10000", "10399"):
        assert raw not in text, raw
    restored = Profile.from_dict(ref.to_dict())
    assert restored.columns["city"].domain_hashes == city.domain_hashes
    assert restored.columns["key"].spec.identifier


def test_min_value_count_is_configurable() -> None:
    df = pd.DataFrame({"c": ["a"] * 10 + ["b"] * 2})
    assert reference_profile(df).columns["c"].spec.categories == ("a",)
    assert reference_profile(df, min_value_count=2).columns["c"].spec.categories == ("a", "b")
    with pytest.raises(ValueError, match="min_value_count"):
        reference_profile(df, min_value_count=0)
