"""Streaming a file or data set in chunks of rows, for data larger than memory.

:class:`ChunkReader` yields DataFrames of at most ``chunk_rows`` rows: Parquet record batches through
pyarrow (a batch decodes only its own rows) and CSV blocks through ``pd.read_csv(chunksize=...)``. Each
chunk is typed by pandas on its own, so a column can come back ``int64`` in one chunk and ``float64`` in
the next (the latter has a blank); :func:`sidecar.stats.convert.whole_dtype` says what one read of the whole
source would have given, which is what a profile records. :func:`numeric_column` reads one Parquet column
across a data set into one float64 array (the exact quantile edges of a reference need every value of a
column at once).

Memory, measured on 1M-row Parquet row groups: freed memory is the bulk of the peak unless handed back.
pyarrow's default pool (mimalloc) keeps freed pages for reuse and glibc's malloc (numpy, pandas) keeps
them in its arenas, so without :func:`release_memory` after every chunk the resident set grows by about
a chunk per chunk read, up to several hundred MB; and pyarrow's default Parquet reading pre-buffers a whole
row group (all its column chunks, compressed) and reads a column chunk at once, so a 1M-row group costs
its full size however small the batch. Reading with ``pre_buffer=False`` and a bounded ``buffer_size``
streams pages instead.
"""

from __future__ import annotations

import bz2
import ctypes
import ctypes.util
import functools
import gzip
import lzma
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from sidecar.io.formats import DataFileError, ReadHints, Source, check_source, dataset_files, label
from sidecar.io.frame import csv_options, parse_datetimes, read_errors, read_schema
from sidecar.io.sniff import check_columns
from sidecar.stats.convert import to_float_array
from sidecar.stats.kinds import ColumnKind

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_CHUNK_ROWS", "ChunkReader", "numeric_column", "release_memory"]

#: Rows per chunk: 250k rows of 30 columns is about 60 MB of float64, small next to any memory budget and
#: large enough that per-chunk overhead (a few dozen numpy calls a column) stays invisible.
DEFAULT_CHUNK_ROWS = 250_000

#: Bytes pyarrow reads from a Parquet file at a time: pages stream through this buffer instead of each
#: column chunk of a row group being read whole (8 MB a column for a 1M-row group of float64).
READ_BUFFER = 1 << 20

_OPENERS: dict[str, Any] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


class ChunkReader:
    """The rows of a file or data set as DataFrames of at most ``chunk_rows`` rows; iterable more than once.

    Parameters are those of :func:`sidecar.io.read_frame`, plus ``chunk_rows``. Standard input and streams
    cannot be read twice and are refused (read them whole with :func:`~sidecar.io.read_frame`).

    Attributes
    ----------
    files : the data files, in reading order
    fmt : their format
    rows_done : rows yielded so far by the current iteration
    """

    def __init__(self, source: Source, *, fmt: str | None = None, columns: Sequence[str] | None = None,
                 hints: ReadHints | None = None, sep: str | None = None, encoding: str | None = None,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        if not isinstance(source, str | os.PathLike) or source == "-":
            raise DataFileError(f"{label(source)}: chunked reading needs a file, directory or glob, not a stream")
        if chunk_rows < 1:
            raise DataFileError(f"chunk_rows must be >= 1, got {chunk_rows}")
        self.fmt = check_source(source, fmt)
        if self.fmt == "jsonl":
            raise DataFileError(f"{label(source)}: JSON Lines is read whole; chunked reading takes CSV, TSV or Parquet")
        self.label = label(source)
        self.files = dataset_files(source)
        self.columns = list(columns) if columns is not None else None
        self.hints = hints or ReadHints()
        self.sep, self.encoding, self.chunk_rows = sep, encoding, chunk_rows
        #: Columns read as text in CSV whatever their values (the hints' plus any set later).
        self.text_columns: set[str] = set(self.hints.text_columns)
        self.rows_done = 0
        self._bytes_done = 0
        self._handle: IO[bytes] | None = None
        self.total_rows: int | None = None
        self.total_bytes = sum(f.stat().st_size for f in self.files)
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            read_schema(self.files)
            with read_errors(self.label, "parquet"):
                self.total_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in self.files)

    @property
    def fraction(self) -> float:
        """Share of the source read so far (by rows for Parquet, by bytes of the files for CSV)."""
        if self.total_rows:
            return min(1.0, self.rows_done / self.total_rows)
        done = self._bytes_done
        if self._handle is not None:
            try:
                done += self._handle.tell()
            except (OSError, ValueError):
                pass
        return min(1.0, done / self.total_bytes) if self.total_bytes else 1.0

    def __iter__(self) -> Iterator[pd.DataFrame]:
        self.rows_done = self._bytes_done = 0
        first: list[str] | None = None
        for f in self.files:
            chunks = self._parquet(f) if self.fmt == "parquet" else self._csv(f)
            seen = False
            for chunk in chunks:
                names = [str(c) for c in chunk.columns]
                if first is None:
                    first = names
                elif not seen and names != first:
                    raise DataFileError(f"{os.fspath(f)}: its columns {names} differ from "
                                        f"{os.fspath(self.files[0])}'s {first}")
                seen = True
                if self.columns is not None:
                    missing = [c for c in self.columns if c not in chunk.columns]
                    if missing:
                        raise DataFileError(f"{self.label}: no column(s) {missing}; the data has {names}")
                    chunk = chunk[self.columns]
                if len(chunk) == 0:
                    continue
                self.rows_done += len(chunk)
                out = parse_datetimes(chunk, self.hints.datetime_columns)
                del chunk  # only the consumer holds the chunk now, so it is freed when the consumer drops it
                yield out
                del out
                release_memory()
            self._bytes_done += f.stat().st_size
        if self.rows_done == 0:
            raise DataFileError(f"{self.label}: no rows (only a header with columns {first or []})")

    def _parquet(self, path: Path) -> Iterator[pd.DataFrame]:
        import pyarrow as pa

        with read_errors(os.fspath(path), "parquet"):
            pf = _open_parquet(path)
            schema = pf.schema_arrow
            empty = True
            for batch in pf.iter_batches(batch_size=self.chunk_rows):
                empty = False
                # The file's schema carries pandas' metadata (index, categories), so a batch converts as
                # pd.read_parquet converts the whole file. Neither the Arrow data nor the frame stays bound
                # here while the consumer works: a suspended generator keeps its locals alive.
                table = pa.Table.from_batches([batch], schema=schema)
                del batch
                frames = [table.to_pandas()]
                del table
                yield frames.pop()
            if empty:
                yield schema.empty_table().to_pandas()

    def _csv(self, path: Path) -> Iterator[pd.DataFrame]:
        import pandas as pd

        where = os.fspath(path)
        options = csv_options(path, self.fmt, self.sep, self.encoding)
        wanted = set(self.columns) if self.columns is not None else None
        suffix = path.suffix.lower()
        with read_errors(where, self.fmt), open(path, "rb") as raw:
            self._handle = raw
            # Decompressing from the raw handle keeps its position, which is how progress is measured.
            source = _OPENERS[suffix](raw) if suffix in _OPENERS else raw
            compression: Any = {".zst": "zstd", ".zip": "zip"}.get(suffix)
            reader = pd.read_csv(
                source, **options, chunksize=self.chunk_rows,
                compression=compression,
                dtype={c: str for c in self.text_columns} or None,
                usecols=(lambda c: c in wanted) if wanted is not None else None,
            )
            try:
                with reader:
                    for i, chunk in enumerate(reader):
                        if i == 0 and wanted is None:
                            check_columns(list(chunk.columns), options["sep"], where)
                        yield chunk
            finally:
                self._handle = None


def numeric_column(files: Sequence[str | os.PathLike[str]], name: str, kind: ColumnKind, n_rows: int,
                   batch_rows: int = DEFAULT_CHUNK_ROWS) -> np.ndarray:
    """One Parquet column of a data set as float64 (NaN = missing; datetimes as epoch seconds).

    Fills one preallocated array batch by batch, so the peak is the array plus one batch of the column.
    """
    out = np.empty(n_rows, dtype=np.float64)
    at = 0
    for f in files:
        with read_errors(os.fspath(f), "parquet"):
            pf = _open_parquet(f)
            for batch in pf.iter_batches(batch_size=batch_rows, columns=[name]):
                if at + batch.num_rows > n_rows:
                    at += batch.num_rows
                    break
                series = batch.to_pandas()[name]
                del batch
                out[at : at + len(series)] = to_float_array(series, kind)
                at += len(series)
                del series
                release_memory()
    if at != n_rows:
        raise DataFileError(f"column {name!r}: read {at} rows, expected {n_rows}; did the data change while read?")
    return out


def _open_parquet(path: str | os.PathLike[str]) -> Any:
    """A Parquet file opened to stream pages (see the module docstring): no pre-buffering of row groups."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER)


def release_memory() -> None:
    """Hand memory freed by the last chunk back to the system: pyarrow's pool and glibc's malloc arenas.

    Without this the pools keep what a chunk freed and the resident set grows towards the size of all
    the chunks read, not one (see the module docstring). Costs well under a millisecond a call.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or None elsewhere (musl, macOS): their allocators return memory themselves."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None)
    except OSError:
        return None
