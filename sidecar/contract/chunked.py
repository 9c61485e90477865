"""Contracts from, and validation of, data larger than memory: a file or data set streamed in chunks.

:func:`create_from_source` and :func:`validate_source` give exactly what ``DataContract(name, df)`` and
``contract.validate(df)`` give on the whole frame (same contract body, same report), with memory bounded
by the chunk size plus one numeric column:

* one chunked pass keeps, per column, its dtypes, nulls and a kind sample, exact value counts of non-numeric
  columns (memory grows with distinct values, not rows) and, when validating, the numeric counts under the
  contract's fixed bin edges;
* creating a contract then reads each numeric column on its own (Parquet is columnar; a CSV column was
  spilled to a float64 file in the system temp directory during the pass) to sort it for exact quantile
  edges, as the in-memory path does.

A CSV column whose chunks read as numbers in one place and text in another is text when read whole; the
pass is repeated once with such columns read as text. One-argument custom checks, which read the rows of a
column in batch validation, get the column's profile here, as in stream windows.

Examples
--------
>>> import pandas as pd, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "ref.csv")
>>> pd.DataFrame({"x": range(200), "c": ["a", "b"] * 100}).to_csv(path, index=False)
>>> contract = create_from_source("demo", path, chunk_rows=64)
>>> contract._body() == DataContract("demo", pd.read_csv(path))._body()
True
>>> validate_source(contract, path, chunk_rows=64).status
<Status.HEALTHY: 'healthy'>
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from sidecar.contract.datacontract import DataContract, warn_small_reference
from sidecar.errors import ConfigurationError
from sidecar.io.chunks import DEFAULT_CHUNK_ROWS, ChunkReader, numeric_column
from sidecar.io.formats import ReadHints, Source
from sidecar.stats.block import update_numeric
from sidecar.stats.column import ColumnProfile, ColumnSpec
from sidecar.stats.convert import to_float_array
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.profile import DEFAULT_BINS, MIN_VALUE_COUNT, Profile
from sidecar.stats.tally import ColumnTally, is_number_dtype, learn_categorical, learn_numeric

if TYPE_CHECKING:
    import pandas as pd

    from sidecar.report.model import ValidationReport

__all__ = ["Progress", "create_from_source", "profile_source", "reference_from_source", "validate_source"]

#: Called after every chunk with the reader (``reader.fraction``, ``reader.rows_done``).
Progress = Callable[[ChunkReader], None]


def create_from_source(name: str, source: Source, *, fmt: str | None = None, columns: Sequence[str] | None = None,
                       hints: ReadHints | None = None, sep: str | None = None, encoding: str | None = None,
                       chunk_rows: int = DEFAULT_CHUNK_ROWS, n_bins: int = DEFAULT_BINS,
                       min_value_count: int = MIN_VALUE_COUNT, identifiers: Iterable[str] | None = None,
                       progress: Progress | None = None) -> DataContract:
    """A contract learned from a file or data set read in chunks; equal to ``DataContract(name, df)`` on it.

    Parameters
    ----------
    name, n_bins, min_value_count, identifiers : as for :class:`DataContract`
    source, fmt, columns, hints, sep, encoding : as for :func:`sidecar.io.read_frame` (paths only)
    chunk_rows : rows per chunk; memory is bounded by a chunk plus one numeric column
    progress : called after every chunk

    Raises
    ------
    DataFileError
        The source is missing, empty, header-only or unreadable.
    ConfigurationError
        A column has an unsupported type, or the options are invalid.
    """
    reader = ChunkReader(source, fmt=fmt, columns=columns, hints=hints, sep=sep, encoding=encoding,
                         chunk_rows=chunk_rows)
    reference = reference_from_source(reader, n_bins=n_bins, min_value_count=min_value_count,
                                      identifiers=identifiers, progress=progress)
    contract = DataContract(name, _reference=reference)
    warn_small_reference(contract, reference.n_rows)
    return contract


def validate_source(contract: DataContract, source: Source, *, fmt: str | None = None,
                    hints: ReadHints | None = None, sep: str | None = None, encoding: str | None = None,
                    chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: Progress | None = None) -> ValidationReport:
    """Validate a file or data set read in chunks; equal to ``contract.validate(df)`` on it.

    ``hints`` default to :func:`sidecar.io.hints_from_specs` of the contract. Other parameters as for
    :func:`create_from_source`.
    """
    from sidecar.io.formats import hints_from_specs

    hints = hints if hints is not None else hints_from_specs(contract.reference.specs)
    reader = ChunkReader(source, fmt=fmt, hints=hints, sep=sep, encoding=encoding, chunk_rows=chunk_rows)
    return contract.check(profile_source(contract, reader, progress=progress))


# -- the reference side -------------------------------------------------------------------------------------
def reference_from_source(reader: ChunkReader, *, n_bins: int = DEFAULT_BINS, min_value_count: int = MIN_VALUE_COUNT,
                          identifiers: Iterable[str] | None = None, progress: Progress | None = None) -> Profile:
    """The reference profile of everything ``reader`` yields, equal to ``reference_profile`` of it whole."""
    if isinstance(min_value_count, bool) or not isinstance(min_value_count, int) or min_value_count < 1:
        raise ConfigurationError(f"min_value_count must be a whole number >= 1, got {min_value_count!r}")
    if not isinstance(n_bins, int) or isinstance(n_bins, bool) or n_bins < 1:
        raise ConfigurationError(f"n_bins must be a whole number >= 1, got {n_bins!r}")
    spill = reader.fmt != "parquet"  # Parquet reads one column on its own; CSV cannot, so it is spilled
    with tempfile.TemporaryDirectory(prefix="sidecar-columns-") as tmp:
        tallies, names = _tally_pass(reader, progress, spill_dir=Path(tmp) if spill else None)
        forced = None if identifiers is None else ([identifiers] if isinstance(identifiers, str) else list(identifiers))
        for name in forced or ():
            if name not in names:
                raise ConfigurationError(f"identifiers: unknown column {name!r}; the reference has {sorted(names)}")
        n_rows = reader.rows_done
        out = Profile(columns={}, n_rows=n_rows, order=tuple(names))
        for name in names:
            tally = tallies[name]
            kind = tally.kind()
            dtype = tally.dtype()
            if kind is None:
                raise ConfigurationError(
                    f"column {name!r}: unsupported dtype {dtype}; supported are numbers, booleans, "
                    "datetimes, strings and categories"
                )
            identifier = None if forced is None else name in forced
            if kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME):
                if spill:
                    values = np.fromfile(Path(tmp) / f"{names.index(name)}.f8", dtype=np.float64)
                else:
                    values = numeric_column(reader.files, name, kind, n_rows, reader.chunk_rows)
                integer = isinstance(dtype, np.dtype) and dtype.kind in "iu"
                prof = learn_numeric(name, kind, str(dtype), integer, values, n_bins, identifier)
                del values
            else:
                prof = learn_categorical(name, kind, str(dtype), tally.value_counts(), n_rows, min_value_count,
                                         identifier)
            out.columns[name] = prof
            out.dtypes[name] = prof.spec.dtype
    return out


def _tally_pass(reader: ChunkReader, progress: Progress | None,
                spill_dir: Path | None) -> tuple[dict[str, ColumnTally], list[str]]:
    """One pass (two when a CSV column must be re-read as text): tallies, and numbers spilled to disk."""
    for _attempt in range(2):
        tallies: dict[str, ColumnTally] = {}
        names: list[str] = []
        files: dict[str, IO[bytes]] = {}
        try:
            for chunk in reader:
                if not names:
                    names = [str(c) for c in chunk.columns]
                    _no_duplicates(names)
                    tallies = {n: ColumnTally(n) for n in names}
                    if spill_dir is not None:
                        files = {n: open(spill_dir / f"{i}.f8", "wb") for i, n in enumerate(names)}  # noqa: SIM115
                for name in names:
                    tallies[name].add(chunk[name])
                    if name in files:
                        _spill(chunk[name], files[name])
                if progress is not None:
                    progress(reader)
                # Unbound before the reader reads the next chunk, so two chunks are never held at once.
                del chunk
        finally:
            for f in files.values():
                f.close()
        mixed = {n for n, t in tallies.items() if t.mixed}
        if not mixed or reader.fmt == "parquet" or mixed <= reader.text_columns:
            return tallies, names
        reader.text_columns |= mixed
    return tallies, names


def _number_kind(dtype: object) -> ColumnKind:
    return ColumnKind.DATETIME if str(dtype).startswith("datetime64") else ColumnKind.NUMERIC


def _spill(series: pd.Series, f: IO[bytes]) -> None:
    if is_number_dtype(series.dtype):
        to_float_array(series, _number_kind(series.dtype)).tofile(f)
    elif bool(series.isna().all()):
        np.full(len(series), np.nan).tofile(f)
    # Other chunks are text: the column is not numeric, and its spill file is never read.


def _no_duplicates(names: list[str]) -> None:
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigurationError(f"reference frame has duplicate column names: {dupes}")


# -- the current side ---------------------------------------------------------------------------------------
def profile_source(contract: DataContract, reader: ChunkReader, progress: Progress | None = None) -> Profile:
    """The current profile of everything ``reader`` yields, equal to ``contract.profile(df)`` of it whole."""
    unique = set(contract.settings.get("uniqueness", {}))
    specs = [spec.with_(exact_distinct=0) for spec in contract.current_specs()]
    by_name = {s.name: s for s in specs}
    for _attempt in range(2):
        state = _CurrentState(specs, unique)
        for chunk in reader:
            state.add(chunk)
            del chunk  # freed before the next chunk is read
            if progress is not None:
                progress(reader)
        mixed = {n for n, t in state.tallies.items() if t.mixed}
        if not mixed or reader.fmt == "parquet" or mixed <= reader.text_columns:
            break
        reader.text_columns |= mixed
    return state.finish(by_name, reader.rows_done)


class _CurrentState:
    """Running state of :func:`profile_source`: tallies, numeric profiles, extras, distinct values."""

    def __init__(self, specs: list[ColumnSpec], unique: set[str]) -> None:
        self.specs, self.unique = specs, unique
        self.names: list[str] = []
        self.tallies: dict[str, ColumnTally] = {}
        self.numeric: dict[str, ColumnProfile] = {}
        self.extras: dict[str, dict[str, ColumnProfile]] = {}
        self.distinct: dict[str, list[np.ndarray]] = {}

    def add(self, chunk: pd.DataFrame) -> None:
        if not self.names:
            self.names = [str(c) for c in chunk.columns]
            self.tallies = {n: ColumnTally(n) for n in self.names}
            by_name = {s.name: s for s in self.specs}
            missing = [s for s in self.specs if s.name not in self.names]
            for name in self.names:
                spec = by_name.get(name)
                if spec is not None and spec.is_numeric:
                    self.numeric[name] = ColumnProfile.empty(spec)
                elif spec is None:
                    self.extras[name] = {m.name: ColumnProfile.empty(m) for m in missing if m.is_numeric}
        n = len(chunk)
        for name in self.names:
            series = chunk[name]
            holds_values = self.tallies[name].add(series)
            number = is_number_dtype(series.dtype)
            targets = [self.numeric[name]] if name in self.numeric else list(self.extras.get(name, {}).values())
            if targets and (number or not holds_values):
                kind = _number_kind(series.dtype)
                for prof in targets:
                    if number and prof.spec.kind is not kind and name not in self.numeric:
                        continue  # an extra column is only compared with missing columns of its kind
                    values = to_float_array(series, prof.spec.kind) if number else np.full(n, np.nan)
                    update_numeric([prof], {name: values}, n)
            if name in self.unique and number and holds_values:
                self.distinct.setdefault(name, []).append(np.unique(series.dropna().to_numpy()))

    def finish(self, by_name: dict[str, ColumnSpec], n_rows: int) -> Profile:
        out = Profile.empty(self.specs)
        out.n_rows, out.order = n_rows, tuple(self.names)
        kinds = {n: t.kind() for n, t in self.tallies.items()}
        out.dtypes = {n: str(t.dtype()) for n, t in self.tallies.items()}
        for name in list(out.columns):
            if name not in self.tallies:
                del out.columns[name]
                continue
            spec, tally, kind = by_name[name], self.tallies[name], kinds[name]
            if not (kind is spec.kind or tally.nulls == tally.rows):
                got = kind.value if kind is not None else "unsupported"
                out.type_errors[name] = (f"expected {spec.kind.value} (dtype {spec.dtype}), got {got} "
                                         f"(dtype {out.dtypes[name]})")
                del out.columns[name]
                continue
            out.columns[name] = self.numeric[name] if spec.is_numeric else _categorical(spec, tally, n_rows)
        for name in self.unique:
            if name in out.columns:
                tally = self.tallies[name]
                present = tally.rows - tally.nulls
                if name in self.distinct:
                    distinct = np.unique(np.concatenate(self.distinct[name])).size
                else:
                    distinct = sum(1 for c in tally.counts.values() if c > 0)
                out.duplicates[name] = int(present - distinct)
        missing = [s for s in self.specs if s.name not in self.tallies]
        for extra in (n for n in self.names if n not in by_name):
            out.extras[extra] = {}
            for spec in missing:
                if kinds[extra] is spec.kind:
                    out.extras[extra][spec.name] = (self.extras[extra][spec.name] if spec.is_numeric
                                                    else _categorical(spec, self.tallies[extra], n_rows))
        return out


def _categorical(spec: ColumnSpec, tally: ColumnTally, n_rows: int) -> ColumnProfile:
    prof = ColumnProfile.empty(spec)
    if n_rows:
        prof.add_value_counts(tally.value_counts(), n_rows)
    return prof
