"""Table-level profiles: one :class:`ColumnProfile` per column plus what the schema check needs.

The same :class:`Profile` is built from a whole DataFrame in one vectorised pass (batch SDK) or updated
batch by batch from decoded Kafka messages (sidecar); ``merge`` adds counts. Profiling a frame equals
merging the profiles of its chunks, which tests prove with hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from sidecar.errors import ConfigurationError, ProfileMergeError
from sidecar.stats.block import update_numeric
from sidecar.stats.coded import CodedValues
from sidecar.stats.column import CATEGORY_CAP, ColumnProfile
from sidecar.stats.convert import infer_kind, is_frame, is_series, to_float_array
from sidecar.stats.hashing import column_key, value_hash
from sidecar.stats.histogram import quantile_edges_sorted
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.spec import ColumnSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_BINS", "MIN_IDENTIFIER_ROWS", "MIN_VALUE_COUNT", "Profile", "frequent_values", "infer_spec",
           "keep_frequent", "reference_profile"]

#: Quantile bins per numeric column. Twenty keeps PSI stable on samples of a few thousand rows while
#: still resolving a shift of a twentieth of the mass.
DEFAULT_BINS = 20
#: A category value seen fewer times than this in the reference is never written raw to a contract: it
#: falls into the "other" bin for distribution checks and is remembered as a keyed hash for the domain.
MIN_VALUE_COUNT = 5
#: An integer or string column whose values are all unique is an identifier, if it has at least this many.
MIN_IDENTIFIER_ROWS = 10

@dataclass
class Profile:
    """Statistics of a table (or a stream window) under fixed column specs.

    Attributes
    ----------
    columns : profiles of the columns the specs name and the data had in a compatible type
    n_rows : rows seen
    order : column order of the profiled frame (``None`` for streams, which have no order)
    dtypes : dtype name per column of the profiled frame
    type_errors : column -> why it could not be profiled under its spec (e.g. numeric became text)
    extras : columns of the data that no spec names, profiled under the spec of a missing column of the
        same kind (``{extra: {missing: profile}}``) so the schema check can recognise a rename
    duplicates : exact duplicate counts of the columns asked for (batch only; streams estimate instead)
    """

    columns: dict[str, ColumnProfile]
    n_rows: int = 0
    order: tuple[str, ...] | None = None
    dtypes: dict[str, str] = field(default_factory=dict)
    type_errors: dict[str, str] = field(default_factory=dict)
    extras: dict[str, dict[str, ColumnProfile]] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    #: The profiled frame itself, batch only and never saved or merged: one-argument custom checks read it.
    frame: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    # -- construction ---------------------------------------------------------------------------------
    @classmethod
    def empty(cls, specs: Iterable[ColumnSpec]) -> Profile:
        """A profile with no rows (the merge identity) for ``specs``."""
        return cls(columns={s.name: ColumnProfile.empty(s) for s in specs})

    @classmethod
    def from_frame(cls, df: pd.DataFrame, specs: Iterable[ColumnSpec], unique_columns: Iterable[str] = ()) -> Profile:
        """Profile ``df`` under ``specs`` (the current side of a validation).

        Never raises for data problems: a column of the wrong type is recorded in ``type_errors``.
        """
        specs = list(specs)
        out = cls.empty(specs)
        out.n_rows = len(df)
        out.frame = df
        out.order = tuple(str(c) for c in df.columns)
        out.dtypes = {str(c): str(df[c].dtype) for c in df.columns}
        by_name = {s.name: s for s in specs}
        for name in list(out.columns):
            if name not in df.columns:
                del out.columns[name]
                continue
            series = df[name]
            if is_frame(series):
                out.type_errors[name] = "the frame holds this column name more than once"
                del out.columns[name]
                continue
            reason = _incompatibility(by_name[name], series)
            if reason:
                out.type_errors[name] = reason
                del out.columns[name]
                continue
        numeric = [p for p in out.columns.values() if p.spec.is_numeric]
        update_numeric(numeric, {p.spec.name: df[p.spec.name] for p in numeric}, len(df))
        for prof in out.columns.values():
            if not prof.spec.is_numeric:
                prof.update(df[prof.spec.name])
        for name in unique_columns:
            if name in out.columns:
                present = df[name].dropna()
                out.duplicates[name] = int(len(present) - present.nunique())
        missing = [s for s in specs if s.name not in df.columns]
        for extra in (str(c) for c in df.columns if c not in by_name):
            series = df[extra]
            kind = infer_kind(series) if is_series(series) else None
            out.extras[extra] = {}
            for spec in missing:
                if kind is spec.kind:
                    prof = ColumnProfile.empty(spec)
                    prof.update(_values_for(spec, series))
                    out.extras[extra][spec.name] = prof
        return out

    def update(self, columns: Mapping[str, np.ndarray | pd.Series | CodedValues], n_rows: int) -> None:
        """Fold one batch of decoded column arrays (all of length ``n_rows``) into this profile.

        Spec columns absent from ``columns`` count as missing for those rows, so a feature the producer
        stopped sending shows up as nulls rather than silently vanishing.
        """
        self.n_rows += n_rows
        numeric = [p for p in self.columns.values() if p.spec.is_numeric]
        update_numeric(numeric, cast("Mapping[str, np.ndarray | pd.Series]", columns), n_rows)  # never coded
        for name, prof in self.columns.items():
            if prof.spec.is_numeric:
                continue
            values = columns.get(name)
            prof.update(values if values is not None else np.full(n_rows, None, dtype=object))

    # -- monoid ---------------------------------------------------------------------------------------
    def merge(self, other: Profile) -> Profile:
        """A new profile holding both profiles' counts; raises :class:`ProfileMergeError` on spec mismatch."""
        if set(self.columns) != set(other.columns):
            raise ProfileMergeError(
                f"cannot merge profiles of different columns: {sorted(set(self.columns) ^ set(other.columns))}"
            )
        extras: dict[str, dict[str, ColumnProfile]] = {}
        for name in self.extras.keys() & other.extras.keys():
            mine, theirs = self.extras[name], other.extras[name]
            extras[name] = {m: mine[m].merge(theirs[m]) for m in mine.keys() & theirs.keys()}
        return Profile(
            columns={n: p.merge(other.columns[n]) for n, p in self.columns.items()},
            n_rows=self.n_rows + other.n_rows,
            order=self.order if self.order == other.order else self.order or other.order,
            dtypes={**other.dtypes, **self.dtypes},
            type_errors={**other.type_errors, **self.type_errors},
            extras=extras,
            duplicates={},
        )

    @property
    def specs(self) -> list[ColumnSpec]:
        """The column specs, in column order."""
        return [p.spec for p in self.columns.values()]

    # -- serialisation --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (statistics only, never rows)."""
        from sidecar.stats.serialize import column_to_dict

        return {
            "n_rows": self.n_rows,
            "order": list(self.order) if self.order is not None else None,
            "columns": [column_to_dict(p) for p in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Inverse of :meth:`to_dict`."""
        from sidecar.stats.serialize import column_from_dict

        cols = [column_from_dict(c) for c in data["columns"]]
        order = data.get("order")
        return cls(
            columns={c.spec.name: c for c in cols},
            n_rows=int(data["n_rows"]),
            order=tuple(order) if order is not None else None,
            dtypes={c.spec.name: c.spec.dtype for c in cols},
        )


def infer_spec(name: str, series: pd.Series, n_bins: int = DEFAULT_BINS, *,
               min_value_count: int = MIN_VALUE_COUNT) -> ColumnSpec:
    """Learn a column's spec (kind, dtype, bin edges or tracked categories) from reference data.

    Raises
    ------
    ConfigurationError
        When the column's type cannot be profiled (e.g. dicts or complex numbers) or ``n_bins`` < 1.
    """
    return _learn(name, series, n_bins, min_value_count, None).spec


def _learn(name: str, series: pd.Series, n_bins: int, min_value_count: int,
           identifier: bool | None) -> ColumnProfile:
    """Spec and reference profile of one column in one pass (``identifier`` ``None``: detect)."""
    if not isinstance(n_bins, int) or isinstance(n_bins, bool) or n_bins < 1:
        raise ConfigurationError(f"column {name!r}: n_bins must be a whole number >= 1, got {n_bins!r}")
    kind = infer_kind(series)
    if kind is None:
        raise ConfigurationError(
            f"column {name!r}: unsupported dtype {series.dtype}; supported are numbers, booleans, "
            "datetimes, strings and categories"
        )
    dtype = str(series.dtype)
    if kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME):
        values = to_float_array(series, kind)
        present = values[~np.isnan(values)]  # a copy, so sorting in place is safe
        present.sort()
        if identifier is None:
            identifier = (kind is ColumnKind.NUMERIC and _is_integer(series) and present.size >= MIN_IDENTIFIER_ROWS
                          and bool(np.all(present[1:] != present[:-1])))
        if identifier:
            # Quantile edges and extremes of an identifier would be raw ids: count nulls only.
            spec = ColumnSpec(name, kind, dtype, edges=(0.0, 0.0), identifier=True)
            prof = ColumnProfile.from_sorted(spec, present, values.size - present.size)
            prof.minimum = prof.maximum = float("nan")
            return prof
        edges = quantile_edges_sorted(present, n_bins)
        spec = ColumnSpec(name, kind, dtype, edges=tuple(float(e) for e in edges))
        return ColumnProfile.from_sorted(spec, present, values.size - present.size)
    counts = series.value_counts(dropna=True)
    keys = [_plain(k) for k in counts.index.tolist()]
    freq = counts.tolist()
    n_present = int(sum(freq))
    if identifier is None:
        identifier = (kind is ColumnKind.CATEGORICAL and n_present >= MIN_IDENTIFIER_ROWS and len(keys) == n_present)
    frequent = frequent_values(keys, freq, identifier, min_value_count)
    prof = ColumnProfile.empty(ColumnSpec(name, kind, dtype, categories=tuple(frequent), identifier=identifier))
    prof.add_value_counts(counts, len(series))
    return keep_frequent(prof, prof.categories, keys, counts, frequent, n_present)


def frequent_values(keys: list[Any], freq: list[int], identifier: bool, min_value_count: int) -> list[Any]:
    """The values a reference keeps raw: seen at least ``min_value_count`` times, most frequent first (ties
    by ``repr``), at most :data:`CATEGORY_CAP`; none for an identifier."""
    if identifier:
        return []
    ranked = sorted(zip(keys, freq, strict=True), key=lambda kv: (-kv[1], repr(kv[0])))
    return [k for k, c in ranked if c >= min_value_count][:CATEGORY_CAP]


def keep_frequent(prof: ColumnProfile, counted: Mapping[Any, int], keys: list[Any], counts: pd.Series,
                  frequent: list[Any], n_present: int) -> ColumnProfile:
    """Finish a categorical reference profile from its exact ``counts``: only ``frequent`` values are kept raw;
    the rest are counted in "other" and, when the whole domain fits the tracked size, remembered by keyed
    hash so the domain check still knows them (the batch and the chunked reference share this)."""
    prof.categories = {k: counted.get(k, 0) for k in frequent}
    prof.other = n_present - sum(prof.categories.values())
    prof.singletons = int(np.count_nonzero(counts.to_numpy() == 1))
    if not prof.spec.identifier and len(keys) <= CATEGORY_CAP:
        key = column_key(prof.spec.name, prof.hll.registers)
        kept = set(frequent)
        prof.domain_hashes = frozenset(value_hash(key, k) for k in keys if k not in kept)
    return prof


def reference_profile(df: pd.DataFrame, n_bins: int = DEFAULT_BINS, *, min_value_count: int = MIN_VALUE_COUNT,
                      identifiers: Iterable[str] | None = None) -> Profile:
    """Learn specs from ``df`` and profile it in the same pass (the reference side of a contract).

    ``min_value_count``: category values seen fewer times are not stored raw (see :data:`MIN_VALUE_COUNT`).
    ``identifiers``: the identifier columns; ``None`` detects them (integer or string columns whose values
    are all unique).
    """
    if df.columns.duplicated().any():
        dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise ConfigurationError(f"reference frame has duplicate column names: {dupes}")
    if isinstance(min_value_count, bool) or not isinstance(min_value_count, int) or min_value_count < 1:
        raise ConfigurationError(f"min_value_count must be a whole number >= 1, got {min_value_count!r}")
    names = [str(c) for c in df.columns]
    forced = None if identifiers is None else ([identifiers] if isinstance(identifiers, str) else list(identifiers))
    for name in forced or ():
        if name not in names:
            raise ConfigurationError(f"identifiers: unknown column {name!r}; the reference has {sorted(names)}")
    out = Profile(columns={}, n_rows=len(df), order=tuple(names))
    for col in df.columns:
        name = str(col)
        prof = _learn(name, df[col], n_bins, min_value_count, None if forced is None else name in forced)
        out.columns[name] = prof
        out.dtypes[name] = prof.spec.dtype
    return out


def _values_for(spec: ColumnSpec, series: pd.Series) -> np.ndarray | pd.Series:
    if spec.is_numeric:
        return to_float_array(series, spec.kind)
    return series


def _incompatibility(spec: ColumnSpec, series: pd.Series) -> str | None:
    kind = infer_kind(series)
    if kind is spec.kind or bool(series.isna().all()):
        # An all-null column is a null-rate problem, which the special-values and distribution checks
        # report with numbers; calling it a type error would hide that.
        return None
    got = kind.value if kind is not None else "unsupported"
    return f"expected {spec.kind.value} (dtype {spec.dtype}), got {got} (dtype {series.dtype})"


def _is_integer(series: pd.Series) -> bool:
    import pandas as pd  # a Series: pandas is loaded already

    return bool(pd.api.types.is_integer_dtype(series.dtype))


def _plain(value: Any) -> Any:
    """numpy scalars to Python scalars so specs serialise and compare cleanly."""
    return value.item() if isinstance(value, np.generic) else value
