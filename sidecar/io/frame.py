"""Reading a data file or data set (CSV, TSV, Parquet, JSON Lines) into one DataFrame, the same way every time.

The command line reads a reference file when it creates a contract and a current file when it validates
one. Text formats carry no types, so pandas infers them per file, and two files of the same table can come
back with different types (a ZIP-code column of digits turns numeric, a timestamp column stays text).
:class:`ReadHints` fixes that: it names the columns to keep as text and those to parse as datetimes, and
:func:`hints_from_specs` derives them from a contract's column specs so a current file is read the way
its reference was. Binary formats (Parquet) carry their own types and only get the datetime hint applied
to columns that arrive as text. A CSV file's delimiter is sniffed unless given.

Examples
--------
>>> import io
>>> hints = ReadHints(text_columns=frozenset({"zip"}))
>>> read_frame(io.BytesIO(b"zip;n\\n007;1\\n"), fmt="csv", hints=hints).zip.tolist()
['007']
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sidecar.io.formats import DataFileError, ReadHints, Source, check_source, dataset_files, label
from sidecar.io.sniff import check_columns, head_bytes, sniff_delimiter

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["csv_options", "parse_datetimes", "read_errors", "read_frame", "read_schema"]


def read_frame(source: Source, *, fmt: str | None = None, columns: Sequence[str] | None = None,
               hints: ReadHints | None = None, sep: str | None = None, encoding: str | None = None) -> pd.DataFrame:
    """Read a data file, or a data set (a directory or glob of files of one format), into a DataFrame.

    Parameters
    ----------
    source : a path, a directory, a glob pattern, ``"-"`` for standard input, or a binary file object
    fmt : one of :data:`FORMATS`; detected from the path when ``None``
    columns : keep only these columns (in this order); a missing one is an error
    hints : column typing for text formats, see :class:`ReadHints`
    sep : CSV/TSV delimiter; sniffed among ``, ; tab |`` for CSV when ``None``
    encoding : text encoding of CSV/TSV/JSON Lines (default UTF-8)

    Raises
    ------
    DataFileError
        The source is missing, empty (0 bytes, or a header without rows), unreadable, of an unknown format,
        looks cut with the wrong delimiter, its files disagree on the columns, or a requested column is absent.
    """
    import pandas as pd  # lazily: `sidecar run` never reads files

    hints = hints or ReadHints()
    where = label(source)
    fmt = check_source(source, fmt)
    if source == "-":
        source = io.BytesIO(sys.stdin.buffer.read())
    parts: list[Any] = [source] if not isinstance(source, str | os.PathLike) else list(dataset_files(source))
    if fmt == "parquet" and len(parts) > 1:
        read_schema(parts)  # a file whose columns differ is named before anything is read
    with read_errors(where, fmt):
        if fmt == "parquet" and len(parts) > 1:
            import pyarrow as pa
            import pyarrow.parquet as pq

            df = pa.concat_tables([pq.read_table(p) for p in parts]).to_pandas()
        else:
            frames = [_read(p, fmt, columns, hints, sep, encoding) for p in parts]
            _same_columns(parts, frames)
            df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise DataFileError(f"{where}: no column(s) {missing}; the file has {[str(c) for c in df.columns]}")
        df = df[list(columns)]
    if len(df) == 0:
        raise DataFileError(f"{where}: no rows (only a header with columns {[str(c) for c in df.columns]})")
    return parse_datetimes(df, hints.datetime_columns)


@contextlib.contextmanager
def read_errors(where: str, fmt: str) -> Iterator[None]:
    """Turn the errors parsers raise into :class:`DataFileError` naming ``where``."""
    import pandas as pd  # lazily: `sidecar run` never reads files

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' dtype and format-inference chatter is not for the terminal
            yield
    except DataFileError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise DataFileError(f"{where}: empty data (no header, no rows)") from exc
    except (OSError, ValueError, ImportError, UnicodeError, pd.errors.ParserError) as exc:
        # ArrowInvalid and ParserError are ValueErrors; missing codecs are ImportErrors.
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise DataFileError(f"{where}: cannot read as {fmt}: {message}") from exc
    except Exception as exc:  # pyarrow raises its own ArrowException subclasses for corrupt files
        if type(exc).__module__.startswith("pyarrow"):
            raise DataFileError(f"{where}: cannot read as {fmt}: {exc}") from exc
        raise


def read_schema(files: Sequence[str | os.PathLike[str]]) -> pa.Schema:
    """The Arrow schema shared by Parquet ``files``; raises :class:`DataFileError` naming a file that differs."""
    import pyarrow.parquet as pq

    with read_errors(os.fspath(files[0]), "parquet"):
        first = pq.read_schema(files[0])
    for f in files[1:]:
        with read_errors(os.fspath(f), "parquet"):
            schema = pq.read_schema(f)
        if not schema.equals(first, check_metadata=False):
            mine = {n: str(t) for n, t in zip(first.names, first.types, strict=True)}
            theirs = {n: str(t) for n, t in zip(schema.names, schema.types, strict=True)}
            diff = sorted(set(mine.items()) ^ set(theirs.items()))
            raise DataFileError(f"{os.fspath(f)}: its columns differ from {os.fspath(files[0])}'s: {diff}")
    return first


def _same_columns(parts: Sequence[Any], frames: Sequence[pd.DataFrame]) -> None:
    first = [str(c) for c in frames[0].columns]
    for part, frame in zip(parts[1:], frames[1:], strict=True):
        cols = [str(c) for c in frame.columns]
        if cols != first:
            raise DataFileError(f"{label(part)}: its columns {cols} differ from {label(parts[0])}'s {first}")


def csv_options(source: Any, fmt: str, sep: str | None, encoding: str | None) -> dict[str, Any]:
    """``pd.read_csv`` keyword arguments for ``source``: the given or sniffed delimiter and the encoding."""
    if sep is None:
        sep = "\t" if fmt == "tsv" else _sniff(source, encoding)
    return {"sep": sep, "encoding": encoding or "utf-8"}


def _sniff(source: Any, encoding: str | None) -> str:
    if isinstance(source, str | os.PathLike):
        sample = head_bytes(source)
        return "," if sample is None else sniff_delimiter(sample, encoding)
    if hasattr(source, "seek") and hasattr(source, "tell"):
        start = source.tell()
        sample = source.read(64 * 1024)
        source.seek(start)
        return sniff_delimiter(sample, encoding)
    return ","


def _read(source: Any, fmt: str, columns: Sequence[str] | None, hints: ReadHints, sep: str | None,
          encoding: str | None) -> pd.DataFrame:
    import pandas as pd  # lazily: `sidecar run` never reads files

    wanted = set(columns) if columns is not None else None
    where = label(source)
    if fmt in ("csv", "tsv"):
        options = csv_options(source, fmt, sep, encoding)
        # A callable usecols never fails on absent names, so read_frame can report them all at once.
        df = pd.read_csv(
            source,
            **options,
            dtype={c: str for c in hints.text_columns} or None,
            usecols=(lambda c: c in wanted) if wanted is not None else None,
            low_memory=False,  # one dtype per column for the whole file, not per chunk
        )
        if wanted is None:
            check_columns(list(df.columns), options["sep"], where)
        return df
    if fmt == "parquet":
        return pd.read_parquet(source)
    return pd.read_json(source, lines=True, dtype={c: str for c in hints.text_columns} or True,
                        encoding=encoding or "utf-8")


def parse_datetimes(df: pd.DataFrame, targets: Mapping[str, str | None]) -> pd.DataFrame:
    """Parse text columns named in ``targets`` as datetimes; a column that does not parse stays as it is,
    so the schema check reports the type change instead of the reader failing."""
    import pandas as pd  # lazily: `sidecar run` never reads files

    converted: dict[str, pd.Series] = {}
    for name, target in targets.items():
        if name not in df.columns or isinstance(df[name], pd.DataFrame):
            continue
        series = df[name]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            continue
        if not (pd.api.types.is_string_dtype(series.dtype) or series.dtype == object):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = pd.to_datetime(series)
        except (ValueError, TypeError, OverflowError):
            continue
        if target is not None and str(parsed.dtype) != target:
            # e.g. a naive reference and zoned data: keep what parsed and let the schema check say so
            with contextlib.suppress(ValueError, TypeError):
                parsed = parsed.astype(pd.api.types.pandas_dtype(target))
        converted[name] = parsed
    if not converted:
        return df
    out = df.copy()
    for name, parsed in converted.items():
        out[name] = parsed
    return out
