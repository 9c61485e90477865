"""What the chunks of one column add up to, and the reference profile learned from that exactly.

Profiling data larger than memory chunk by chunk must give the profile one pass over the whole frame
gives (:func:`sidecar.stats.profile.reference_profile`, :meth:`Profile.from_frame`). Counts add up, but
four things only the whole column knows: its dtype (a chunk without blanks reads ``int64``, the whole
column ``float64``), its kind (an ``object`` column is judged by its first 1,000 values), its exact value
counts (rare values are hashed, identifiers detected, only after every count is known) and, for numbers,
its exact quantile edges. :class:`ColumnTally` keeps the first three across chunks;
:func:`learn_numeric` and :func:`learn_categorical` turn a whole column's sorted values or exact counts
into the same :class:`~sidecar.stats.column.ColumnProfile` ``reference_profile`` builds.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np

from sidecar.errors import ConfigurationError
from sidecar.stats.column import ColumnProfile
from sidecar.stats.convert import infer_kind, whole_dtype
from sidecar.stats.histogram import quantile_edges_sorted
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.profile import MIN_IDENTIFIER_ROWS, frequent_values, keep_frequent
from sidecar.stats.sketch import hash_values
from sidecar.stats.spec import ColumnSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KIND_SAMPLE", "ColumnTally", "is_number_dtype", "learn_categorical", "learn_numeric"]

#: Values :func:`~sidecar.stats.convert.infer_kind` looks at to judge an ``object`` column.
KIND_SAMPLE = 1000


def is_number_dtype(dtype: Any) -> bool:
    """True for dtypes counted into histograms (numbers, datetimes, durations; not booleans)."""
    import pandas as pd

    types = pd.api.types
    if types.is_bool_dtype(dtype) or types.is_complex_dtype(dtype):
        return False
    return bool(types.is_numeric_dtype(dtype) or types.is_datetime64_any_dtype(dtype)
                or types.is_timedelta64_dtype(dtype))


class ColumnTally:
    """Dtypes, nulls, a kind sample and (for non-numeric chunks) exact value counts of one column.

    ``numeric`` tells whether the non-empty chunks were numbers; ``mixed`` that some were numbers and some
    not (read whole, the numbers would have been text: the source must be read again with the column as
    text).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows = 0
        self.nulls = 0
        self.first_dtype: Any = None
        self.dtypes: dict[str, Any] = {}  # of chunks holding a value
        self.sample: list[Any] = []
        self.counts: dict[Hashable, int] = {}
        self.numeric: bool | None = None
        self.mixed = False

    def add(self, series: pd.Series, *, count: bool = True) -> bool:
        """Fold one chunk in; returns False when the chunk holds no value (all missing).

        ``count``: keep exact value counts of non-numeric chunks.
        """
        n = len(series)
        if self.first_dtype is None:
            self.first_dtype = series.dtype
        missing = int(series.isna().sum())
        self.rows += n
        self.nulls += missing
        if missing == n:
            return False
        self.dtypes.setdefault(str(series.dtype), series.dtype)
        numeric = is_number_dtype(series.dtype)
        if self.numeric is None:
            self.numeric = numeric
        elif self.numeric != numeric:
            self.mixed = True
        if len(self.sample) < KIND_SAMPLE and series.dtype == np.dtype(object):
            self.sample += series.dropna().head(KIND_SAMPLE - len(self.sample)).tolist()
        if count and not numeric:
            counts = series.value_counts(dropna=True, sort=False)
            merged = self.counts
            for key, c in zip(counts.index.tolist(), counts.tolist(), strict=True):
                merged[key] = merged.get(key, 0) + c
        return True

    def dtype(self) -> Any:
        """The dtype one read of the whole column gives (see :func:`sidecar.stats.convert.whole_dtype`)."""
        if not self.dtypes:
            return self.first_dtype
        name = whole_dtype(list(self.dtypes), self.nulls > 0)
        if name is None:
            raise ConfigurationError(f"column {self.name!r}: chunks read as {sorted(self.dtypes)}; read it as text")
        return self.dtypes[name] if name in self.dtypes else np.dtype(name)

    def kind(self) -> ColumnKind | None:
        """The kind :func:`~sidecar.stats.convert.infer_kind` gives the whole column."""
        import pandas as pd

        dtype = self.dtype()
        if dtype == np.dtype(object):
            return infer_kind(pd.Series(self.sample, dtype=object))
        return infer_kind(pd.Series([], dtype=dtype))

    def value_counts(self) -> pd.Series:
        """The exact value counts, as ``Series.value_counts`` gives them."""
        import pandas as pd

        return pd.Series(list(self.counts.values()), index=pd.Index(list(self.counts), dtype=object), dtype=np.int64)


def learn_numeric(name: str, kind: ColumnKind, dtype: str, integer: bool, values: np.ndarray, n_bins: int,
                  identifier: bool | None) -> ColumnProfile:
    """The reference profile of a whole numeric column given as float64 (NaN = missing), as ``_learn`` makes
    it. ``values`` is sorted in place: NaN sorts last, so the present values are a view of its head and no
    copy is made of a column that may be most of memory (a 20M-row column is 160 MB)."""
    values.sort()
    n_present = int(np.searchsorted(values, np.nan))  # the first NaN: searchsorted orders NaN as sort does
    n_missing = values.size - n_present
    present = values[:n_present]
    if identifier is None:
        identifier = (kind is ColumnKind.NUMERIC and integer and present.size >= MIN_IDENTIFIER_ROWS
                      and bool(np.all(present[1:] != present[:-1])))
    if identifier:
        spec = ColumnSpec(name, kind, dtype, edges=(0.0, 0.0), identifier=True)
        prof = ColumnProfile.from_sorted(spec, present, n_missing)
        prof.minimum = prof.maximum = float("nan")
        return prof
    edges = quantile_edges_sorted(present, n_bins)
    spec = ColumnSpec(name, kind, dtype, edges=tuple(float(e) for e in edges))
    return ColumnProfile.from_sorted(spec, present, n_missing)


def learn_categorical(name: str, kind: ColumnKind, dtype: str, counts: pd.Series, n_rows: int,
                      min_value_count: int, identifier: bool | None) -> ColumnProfile:
    """The reference profile of a whole non-numeric column given as its exact ``value_counts`` over
    ``n_rows`` rows, as ``_learn`` makes it."""
    keys = [k.item() if isinstance(k, np.generic) else k for k in counts.index.tolist()]
    freq = counts.tolist()
    n_present = int(sum(freq))
    if identifier is None:
        identifier = kind is ColumnKind.CATEGORICAL and n_present >= MIN_IDENTIFIER_ROWS and len(keys) == n_present
    frequent = frequent_values(keys, freq, identifier, min_value_count)
    prof = ColumnProfile.empty(ColumnSpec(name, kind, dtype, categories=tuple(frequent), identifier=identifier))
    prof.count, prof.nulls = n_rows, n_rows - n_present
    if keys and prof.spec.distinct:
        prof.hll.add_hashes(hash_values(np.array(counts.index.tolist(), dtype=object)))
    return keep_frequent(prof, dict(zip(keys, freq, strict=True)), keys, counts, frequent, n_present)
