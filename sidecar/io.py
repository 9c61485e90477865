"""Reading data files (CSV, TSV, Parquet, JSON Lines) into DataFrames the same way every time.

The command line reads a reference file when it creates a contract and a current file when it validates
one. Text formats carry no types, so pandas infers them per file, and two files of the same table can come
back with different types (a ZIP-code column of digits turns numeric, a timestamp column stays text).
:class:`ReadHints` fixes that: it names the columns to keep as text and those to parse as datetimes, and
:func:`hints_from_specs` derives them from a contract's column specs so a current file is read the way
its reference was. Binary formats (Parquet) carry their own types and only get the datetime hint applied
to columns that arrive as text.

Examples
--------
>>> import io
>>> hints = ReadHints(text_columns=frozenset({"zip"}))
>>> read_frame(io.BytesIO(b"zip,n\\n007,1\\n"), fmt="csv", hints=hints).zip.tolist()
['007']
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sidecar.errors import SidecarError
from sidecar.stats.column import ColumnSpec
from sidecar.stats.kinds import ColumnKind

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FORMATS", "DataFileError", "ReadHints", "check_source", "detect_format", "hints_from_specs", "read_frame"]

#: Formats :func:`read_frame` reads, with the file name endings that select them.
FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "tsv": (".tsv", ".tab"),
    "parquet": (".parquet", ".pq"),
    "jsonl": (".jsonl", ".ndjson"),
}

#: Compression endings pandas handles for text formats (``data.csv.gz``); stripped before detection.
_COMPRESSION = (".gz", ".bz2", ".xz", ".zst", ".zip")

#: Spec dtypes whose values are text, so a text file's column is read as text whatever its values look like.
_TEXT_DTYPES = frozenset({"str", "string", "object"})

Source = str | os.PathLike[str] | IO[bytes]


class DataFileError(SidecarError, ValueError):
    """A data file does not exist, has an unknown format, or cannot be parsed.

    Lives here until ``sidecar/errors.py`` grows a home for it; it already derives from the package root.
    """


@dataclass(frozen=True)
class ReadHints:
    """How to type columns a text format cannot type by itself.

    Attributes
    ----------
    text_columns : columns read as text in CSV/TSV, so ``"007"`` stays ``"007"`` and not ``7``
    datetime_columns : columns parsed as datetimes when they arrive as text; the value is the dtype to
        convert to afterwards (e.g. the contract's ``datetime64[ns]``) or ``None`` to keep what pandas gives
    """

    text_columns: frozenset[str] = frozenset()
    datetime_columns: Mapping[str, str | None] = field(default_factory=dict)


def hints_from_specs(specs: Iterable[ColumnSpec]) -> ReadHints:
    """Hints that read a file the way the reference behind ``specs`` was read.

    Text-typed categorical columns (with text categories) stay text; datetime columns are parsed and
    converted to the reference's dtype.
    """
    text: set[str] = set()
    dates: dict[str, str | None] = {}
    for spec in specs:
        if spec.kind is ColumnKind.DATETIME:
            dates[spec.name] = spec.dtype
        elif (spec.kind is ColumnKind.CATEGORICAL and spec.dtype in _TEXT_DTYPES
              and all(isinstance(c, str) for c in spec.categories)):
            text.add(spec.name)
    return ReadHints(text_columns=frozenset(text), datetime_columns=dates)


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format named by ``path``'s ending (``data.csv.gz`` is ``csv``); a directory is a Parquet dataset.

    Raises
    ------
    DataFileError
        When the ending names no known format.
    """
    p = Path(path)
    if p.is_dir():
        return "parquet"
    name = p.name.lower()
    for ending in _COMPRESSION:
        if name.endswith(ending):
            name = name[: -len(ending)]
            break
    for fmt, endings in FORMATS.items():
        if name.endswith(endings):
            return fmt
    known = ", ".join(e for endings in FORMATS.values() for e in endings)
    raise DataFileError(
        f"{os.fspath(path)}: cannot tell the format from the file name; use one of {known} "
        f"(optionally compressed: {', '.join(_COMPRESSION)}) or pass the format explicitly"
    )


def check_source(source: Source, fmt: str | None = None) -> str:
    """The format ``source`` will be read as; fails fast, before any reading, on the common mistakes.

    Raises
    ------
    DataFileError
        The path does not exist, the format is unknown, or a stream was given without a format.
    """
    label = _label(source)
    if isinstance(source, str | os.PathLike) and source != "-" and not Path(source).exists():
        raise DataFileError(f"data file {label!r} does not exist")
    if fmt is None:
        if not isinstance(source, str | os.PathLike) or source == "-":
            raise DataFileError(f"{label}: the format of a stream must be given explicitly")
        fmt = detect_format(source)
    if fmt not in FORMATS:
        raise DataFileError(f"unknown data format {fmt!r}; known formats: {', '.join(FORMATS)}")
    return fmt


def read_frame(source: Source, *, fmt: str | None = None, columns: Sequence[str] | None = None,
               hints: ReadHints | None = None) -> pd.DataFrame:
    """Read a data file into a DataFrame.

    Parameters
    ----------
    source : a path, ``"-"`` for standard input, or a binary file object
    fmt : one of :data:`FORMATS`; detected from the path when ``None``
    columns : keep only these columns (in this order); a missing one is an error
    hints : column typing for text formats, see :class:`ReadHints`

    Raises
    ------
    DataFileError
        The file is missing or unreadable, the format is unknown, or a requested column is absent.
    """
    import pandas as pd  # lazily: `sidecar run` never reads files

    hints = hints or ReadHints()
    label = _label(source)
    fmt = check_source(source, fmt)
    if source == "-":
        source = io.BytesIO(sys.stdin.buffer.read())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' dtype and format-inference chatter is not for the terminal
            df = _read(source, fmt, columns, hints)
    except DataFileError:
        raise
    except (OSError, ValueError, ImportError, UnicodeError, pd.errors.ParserError) as exc:
        # ArrowInvalid, ParserError and EmptyDataError are ValueErrors; missing codecs are ImportErrors.
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise DataFileError(f"{label}: cannot read as {fmt}: {message}") from exc
    except Exception as exc:  # pyarrow raises its own ArrowException subclasses for corrupt files
        if type(exc).__module__.startswith("pyarrow"):
            raise DataFileError(f"{label}: cannot read as {fmt}: {exc}") from exc
        raise
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise DataFileError(f"{label}: no column(s) {missing}; the file has {[str(c) for c in df.columns]}")
        df = df[list(columns)]
    return _parse_datetimes(df, hints.datetime_columns)


def _label(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return "<stdin>" if source == "-" else os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def _read(source: Any, fmt: str, columns: Sequence[str] | None, hints: ReadHints) -> pd.DataFrame:
    import pandas as pd  # lazily: `sidecar run` never reads files

    wanted = set(columns) if columns is not None else None
    if fmt in ("csv", "tsv"):
        # A callable usecols never fails on absent names, so read_frame can report them all at once.
        return pd.read_csv(
            source,
            sep="," if fmt == "csv" else "\t",
            dtype={c: str for c in hints.text_columns} or None,
            usecols=(lambda c: c in wanted) if wanted is not None else None,
            low_memory=False,  # one dtype per column for the whole file, not per chunk
        )
    if fmt == "parquet":
        return pd.read_parquet(source)
    return pd.read_json(source, lines=True, dtype={c: str for c in hints.text_columns} or True)


def _parse_datetimes(df: pd.DataFrame, targets: Mapping[str, str | None]) -> pd.DataFrame:
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
