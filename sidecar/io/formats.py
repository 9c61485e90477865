"""What a data source is: its format, its files (one file, a directory or a glob), and how to type it.

A *source* is a path, ``"-"`` (standard input) or a binary stream. A directory or a glob pattern
(``data/*.parquet``, ``data/part-*.csv``) names a *data set*: every data file it holds, in name order, all
of one format. :func:`dataset_files` expands a source into those files and fails with a
:class:`DataFileError` naming the problem (nothing matches, an empty directory, formats mixed, an empty
file) before anything is parsed.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sidecar.errors import DataFileError
from sidecar.stats.column import ColumnSpec
from sidecar.stats.kinds import ColumnKind

__all__ = [
    "FORMATS",
    "DataFileError",
    "ReadHints",
    "Source",
    "check_source",
    "dataset_files",
    "detect_format",
    "hints_from_specs",
    "is_pattern",
    "label",
]

#: Formats :func:`sidecar.io.read_frame` reads, with the file name endings that select them.
FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "tsv": (".tsv", ".tab"),
    "parquet": (".parquet", ".pq"),
    "jsonl": (".jsonl", ".ndjson"),
}

#: Compression endings pandas handles for text formats (``data.csv.gz``); stripped before detection.
COMPRESSION = (".gz", ".bz2", ".xz", ".zst", ".zip")

#: Spec dtypes whose values are text, so a text file's column is read as text whatever its values look like.
_TEXT_DTYPES = frozenset({"str", "string", "object"})

Source = str | os.PathLike[str] | IO[bytes]


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


def is_pattern(source: Source) -> bool:
    """True when ``source`` is a glob pattern (``*``, ``?`` or ``[`` in a path that does not exist as such)."""
    if not isinstance(source, str | os.PathLike):
        return False
    text = os.fspath(source)
    return glob.has_magic(text) and not Path(text).exists()


def label(source: Source) -> str:
    """How messages name ``source``."""
    if isinstance(source, str | os.PathLike):
        return "<stdin>" if source == "-" else os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def _format_of_name(name: str) -> str | None:
    name = name.lower()
    for ending in COMPRESSION:
        if name.endswith(ending):
            name = name[: -len(ending)]
            break
    for fmt, endings in FORMATS.items():
        if name.endswith(endings):
            return fmt
    return None


def _data_files_in(directory: Path) -> list[Path]:
    # Hidden files and Spark/Hive markers (_SUCCESS, _metadata, .crc) are not data.
    return sorted(p for p in directory.iterdir()
                  if p.is_file() and not p.name.startswith((".", "_")) and _format_of_name(p.name) is not None)


def dataset_files(source: str | os.PathLike[str]) -> list[Path]:
    """The data files ``source`` names: itself, a directory's data files or a glob's matches, in name order.

    Raises
    ------
    DataFileError
        Nothing exists or matches, a directory holds no data files, the files mix formats, or a file is
        empty (0 bytes).
    """
    text = os.fspath(source)
    if is_pattern(text):
        files = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
        if not files:
            raise DataFileError(f"no data files match {text!r}")
    elif Path(text).is_dir():
        files = _data_files_in(Path(text))
        if not files:
            known = ", ".join(e for endings in FORMATS.values() for e in endings)
            raise DataFileError(f"directory {text!r} holds no data files (looked for {known}, optionally compressed)")
    elif Path(text).exists():
        files = [Path(text)]
    else:
        raise DataFileError(f"data file {text!r} does not exist")
    formats = {f: _format_of_name(f.name) for f in files}
    if len(files) > 1 and len(set(formats.values())) > 1:
        seen = {fmt: f.name for f, fmt in reversed(formats.items())}
        raise DataFileError(f"data set {text!r} mixes formats: " + ", ".join(f"{f} ({n})" for f, n in seen.items()))
    for f in files:
        if f.stat().st_size == 0:
            raise DataFileError(f"{os.fspath(f)}: cannot read as {formats[f] or 'data'}: the file is empty (0 bytes)")
    return files


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format named by ``path``'s ending (``data.csv.gz`` is ``csv``); a directory or glob is read as the
    format of the files it holds.

    Raises
    ------
    DataFileError
        When the ending names no known format (or a data set holds no data files).
    """
    p = Path(path)
    if p.is_dir() or is_pattern(path):
        first = dataset_files(path)[0]
        fmt = _format_of_name(first.name)
        if fmt is not None:
            return fmt
        p = first
    fmt = _format_of_name(p.name)
    if fmt is not None:
        return fmt
    known = ", ".join(e for endings in FORMATS.values() for e in endings)
    raise DataFileError(
        f"{os.fspath(path)}: cannot tell the format from the file name; use one of {known} "
        f"(optionally compressed: {', '.join(COMPRESSION)}) or pass the format explicitly"
    )


def check_source(source: Source, fmt: str | None = None) -> str:
    """The format ``source`` will be read as; fails fast, before any reading, on the common mistakes.

    Raises
    ------
    DataFileError
        The path does not exist (or a data set has no data files, or an empty one), the format is unknown,
        or a stream was given without a format.
    """
    name = label(source)
    if isinstance(source, str | os.PathLike) and source != "-":
        dataset_files(source)
    if fmt is None:
        if not isinstance(source, str | os.PathLike) or source == "-":
            raise DataFileError(f"{name}: the format of a stream must be given explicitly")
        fmt = detect_format(source)
    if fmt not in FORMATS:
        raise DataFileError(f"unknown data format {fmt!r}; known formats: {', '.join(FORMATS)}")
    return fmt
