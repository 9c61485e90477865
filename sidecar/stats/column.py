"""Per-column mergeable statistics.

A :class:`~sidecar.stats.spec.ColumnSpec` fixes *how* a column is counted (kind, bin edges, tracked
categories, special values, bounds, distinct counting); a :class:`ColumnProfile` holds the counts. Two
profiles with the same spec merge by adding counts, which is what lets a day be the sum of its windows and
a fleet the sum of its pods. Numeric columns are counted by :mod:`sidecar.stats.block` (one vectorised pass
over every numeric column of a batch); categorical ones here.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from sidecar.errors import ProfileMergeError
from sidecar.stats.block import update_numeric
from sidecar.stats.coded import CodedValues
from sidecar.stats.convert import is_series
from sidecar.stats.histogram import bin_counts_sorted, n_slots
from sidecar.stats.kinds import ColumnKind  # noqa: F401  (the examples below name it)
from sidecar.stats.sketch import HashSet, HyperLogLog, hash_values
from sidecar.stats.spec import ColumnSpec

if TYPE_CHECKING:
    import pandas as pd

# ColumnSpec is defined in sidecar.stats.spec and named here too, for the importers that read both from here.
__all__ = ["CATEGORY_CAP", "ColumnProfile", "ColumnSpec"]

#: Distinct categories a profile counts exactly; rarer ones beyond this fold into ``other`` so memory stays
#: bounded at any cardinality. Merges are exact while the union stays under the cap.
CATEGORY_CAP = 1000


@dataclass
class ColumnProfile:
    """Mergeable statistics of one column under a :class:`ColumnSpec` (a monoid: ``empty``/``update``/``merge``).

    Examples
    --------
    >>> spec = ColumnSpec("x", ColumnKind.NUMERIC, "float64", edges=(0.0, 1.0, 2.0))
    >>> p = ColumnProfile.empty(spec)
    >>> p.update(np.array([0.5, 1.5, np.nan]))
    >>> p.count, p.nulls, p.hist.tolist()
    (3, 1, [0, 1, 1, 0, 1])
    """

    spec: ColumnSpec
    count: int = 0
    nulls: int = 0
    special: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    minimum: float = math.nan
    maximum: float = math.nan
    below: int = 0
    above: int = 0
    hist: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    categories: dict[Hashable, int] = field(default_factory=dict)
    other: int = 0
    hll: HyperLogLog = field(default_factory=HyperLogLog)
    #: Reference only: values seen exactly once (Good-Turing: singletons / rows estimates the share of
    #: future rows holding a value the reference never saw).
    singletons: int = 0
    #: Reference only: keyed hashes of the values too rare to store raw (see :mod:`sidecar.stats.hashing`);
    #: ``None`` when the domain is not fully known (identifiers, more distinct values than tracked).
    domain_hashes: frozenset[str] | None = None
    #: Hashes of every non-missing value seen, while at most ``spec.exact_distinct`` were (exact distinct
    #: count); ``None`` when the spec asks for none or the limit was passed (the sketch estimates instead).
    hashes: HashSet | None = None

    @classmethod
    def empty(cls, spec: ColumnSpec) -> ColumnProfile:
        """The identity element: no rows seen."""
        hist = np.zeros(n_slots(np.asarray(spec.edges)) if spec.is_numeric else 0, dtype=np.int64)
        hashes = HashSet() if spec.distinct and spec.exact_distinct > 0 else None
        return cls(spec=spec, special=np.zeros(len(spec.special_values), dtype=np.int64), hist=hist, hashes=hashes)

    # -- update ---------------------------------------------------------------------------------------
    def update(self, values: np.ndarray | pd.Series | CodedValues) -> None:
        """Fold a batch of values in: float64 (NaN = missing) for numeric kinds, objects otherwise."""
        if self.spec.is_numeric:
            x = np.asarray(values, dtype=np.float64)
            update_numeric([self], {self.spec.name: x}, x.size)
        else:
            self._update_categorical(values)

    def _update_categorical(self, values: np.ndarray | pd.Series | CodedValues) -> None:
        n = len(values)
        if n == 0:
            return
        if is_series(values):
            self.add_value_counts(values.value_counts(dropna=True, sort=False), n)
            return
        if not isinstance(values, CodedValues):
            # Decoded stream batches are object arrays: factorized into codes, without building a Series.
            import pandas as pd  # lazily: see is_series

            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            values = CodedValues(codes, np.asarray(uniques, dtype=object))
        keys, freq = values.counts()
        self._add_counts(keys, freq, n)

    def add_value_counts(self, counts: pd.Series, n: int) -> None:
        """Fold in a categorical batch of ``n`` rows given as its ``value_counts(dropna=True)``."""
        self._add_counts(counts.index.tolist(), counts.to_numpy(dtype=np.int64).tolist(), n)

    def _add_counts(self, keys: list[Any], freq: list[int], n: int) -> None:
        present = int(sum(freq))
        self.count += n
        self.nulls += n - present
        batch = dict(zip(keys, freq, strict=True))
        for i, value in enumerate(self.spec.special_values):
            self.special[i] += batch.get(value, 0)
        self._add_categories(batch)
        if keys and self.spec.distinct:
            # ``keys`` are the batch's distinct values: one hash each serves the sketch and the hash set,
            # whose row count (``present``) is what turns its distinct count into duplicates.
            h = hash_values(np.array(keys, dtype=object))
            self.hll.add_hashes(h)
            self.add_hashes(h, present)

    def add_hashes(self, hashes: np.ndarray, rows: int) -> None:
        """Fold the :func:`~sidecar.stats.sketch.hash_values` of a batch's ``rows`` non-missing values into
        the exact set (the sketch is updated separately); past ``spec.exact_distinct`` rows the set is dropped
        for good, so its memory stays bounded and every way of cutting the same rows drops it alike."""
        if self.hashes is None:
            return
        if self.hashes.rows + rows > self.spec.exact_distinct:
            self.hashes = None
        else:
            self.hashes.add(hashes, rows)

    @classmethod
    def from_sorted(cls, spec: ColumnSpec, present_sorted: np.ndarray, n_missing: int) -> ColumnProfile:
        """Profile of a numeric column given as its sorted non-missing values (the reference pass sorts
        anyway for quantile edges, and a sorted column bins with k binary searches instead of n)."""
        prof = cls.empty(spec)
        if spec.lower is not None or spec.upper is not None or spec.special_values or prof.hashes is not None:
            prof.update(np.concatenate([present_sorted, np.full(n_missing, np.nan)]))
            return prof
        prof.count, prof.nulls = int(present_sorted.size) + n_missing, n_missing
        if present_sorted.size:
            prof.minimum, prof.maximum = float(present_sorted[0]), float(present_sorted[-1])
            prof.hll.update(present_sorted)
        prof.hist = bin_counts_sorted(present_sorted, np.asarray(spec.edges, dtype=np.float64), n_missing)
        return prof

    def _add_categories(self, batch: dict[Hashable, int]) -> None:
        merged = self.categories
        for key, c in batch.items():
            merged[key] = merged.get(key, 0) + c
        if len(merged) > CATEGORY_CAP:
            # Keep the most frequent; ties broken by repr so the result does not depend on batch order.
            ranked = sorted(merged.items(), key=lambda kv: (-kv[1], repr(kv[0])))
            self.other += sum(c for _, c in ranked[CATEGORY_CAP:])
            self.categories = dict(ranked[:CATEGORY_CAP])

    # -- merge ----------------------------------------------------------------------------------------
    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """A new profile holding the counts of both. Raises :class:`ProfileMergeError` if specs differ."""
        if self.spec.counting_key() != other.spec.counting_key():
            raise ProfileMergeError(
                f"column {self.spec.name!r}: cannot merge profiles counted differently: "
                f"edges {list(self.spec.edges)} vs {list(other.spec.edges)}, "
                f"categories {len(self.spec.categories)} vs {len(other.spec.categories)}, "
                f"special values {list(self.spec.special_values)} vs {list(other.spec.special_values)}, "
                f"exact distinct limit {self.spec.exact_distinct} vs {other.spec.exact_distinct}"
            )
        hashes = None
        if self.hashes is not None and other.hashes is not None \
                and self.hashes.rows + other.hashes.rows <= self.spec.exact_distinct:
            hashes = self.hashes.merge(other.hashes)
        out = ColumnProfile(
            spec=self.spec,
            count=self.count + other.count,
            nulls=self.nulls + other.nulls,
            special=self.special + other.special,
            minimum=_nanmin(self.minimum, other.minimum),
            maximum=_nanmax(self.maximum, other.maximum),
            below=self.below + other.below,
            above=self.above + other.above,
            hist=self.hist + other.hist,
            categories=dict(self.categories),
            other=self.other + other.other,
            hll=self.hll.merge(other.hll),
            hashes=hashes,
        )
        out._add_categories(other.categories)
        return out

    # -- derived --------------------------------------------------------------------------------------
    @property
    def distinct(self) -> float:
        """Number of distinct non-missing values: exact from the hash set or the categories when they hold
        every value, estimated by the sketch otherwise."""
        exact = self.exact_distinct_count()
        if exact is not None:
            return float(exact)
        if not self.spec.is_numeric and self.other == 0 and self.categories:
            return float(len(self.categories))
        return self.hll.estimate()

    def exact_distinct_count(self) -> int | None:
        """Exact number of distinct non-missing values, or ``None`` when no hash set is kept (the spec asks
        for none, or more than ``spec.exact_distinct`` non-missing rows were seen).

        >>> spec = ColumnSpec("id", ColumnKind.NUMERIC, "int64", edges=(0.0, 0.0), exact_distinct=10)
        >>> p = ColumnProfile.empty(spec)
        >>> p.update(np.array([1.0, 2.0, 2.0, np.nan]))
        >>> p.exact_distinct_count(), p.count - p.nulls
        (2, 3)
        >>> p.update(np.arange(10.0))  # 13 non-missing rows: past the limit, the sketch takes over
        >>> p.exact_distinct_count() is None
        True
        """
        return None if self.hashes is None else self.hashes.count()

    def bin_counts(self) -> np.ndarray:
        """Counts in the comparison layout: histogram slots, or tracked categories + other + missing."""
        if self.spec.is_numeric:
            return self.hist.copy()
        tracked = [self.categories.get(c, 0) for c in self.spec.categories]
        rest = self.count - self.nulls - sum(tracked)
        return np.array([*tracked, rest, self.nulls], dtype=np.int64)

    def special_count(self, value: Any) -> int:
        """How many rows hold ``value``; NaN/None mean missing."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.nulls
        for i, v in enumerate(self.spec.special_values):
            if v == value and type(v) is type(value):
                return int(self.special[i])
        for i, v in enumerate(self.spec.special_values):
            if v == value:
                return int(self.special[i])
        raise KeyError(value)

    def with_spec(self, spec: ColumnSpec) -> ColumnProfile:
        """Same counts under a spec that differs only in check settings that do not affect counting."""
        if spec.counting_key() != self.spec.counting_key():
            raise ProfileMergeError(f"column {spec.name!r}: spec change would invalidate counts")
        return replace(self, spec=spec)


def _nanmin(a: float, b: float) -> float:
    if math.isnan(a):
        return b
    return a if math.isnan(b) else min(a, b)


def _nanmax(a: float, b: float) -> float:
    if math.isnan(a):
        return b
    return a if math.isnan(b) else max(a, b)
