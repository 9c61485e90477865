"""What the data-reading commands share: the input options and reading data with progress output.

``sidecar contract create`` reads reference data and ``sidecar validate`` current data. Files, directories
and globs of CSV/TSV/Parquet are streamed in chunks (:mod:`sidecar.contract.chunked`), so data larger than
memory works and gives what reading it whole would; standard input and JSON Lines are read whole
(:func:`read_data`). Both commands accept the same options (:func:`input_options`) and report progress the
same way: a percentage on a terminal, one line per step elsewhere, nothing with ``--quiet``.
"""

from __future__ import annotations

import argparse
import codecs
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sidecar.cli import Console
from sidecar.io import DEFAULT_CHUNK_ROWS, FORMATS, ChunkReader, ReadHints, check_source, read_frame

if TYPE_CHECKING:
    import pandas as pd

    from sidecar.contract import DataContract
    from sidecar.report.model import ValidationReport

__all__ = ["create_contract", "format_option", "input_options", "is_datetime", "name_list", "positive_int",
           "read_data", "streamable", "validate_data"]


def read_data(console: Console, source: str, fmt: str | None, hints: ReadHints,
              columns: Sequence[str] | None = None, *, sep: str | None = None,
              encoding: str | None = None) -> pd.DataFrame:
    """Read ``source`` whole (standard input, JSON Lines), as one progress step."""
    with console.step(f"reading {_label(source)}") as step:
        df = read_frame(source, fmt=fmt, columns=columns, hints=hints, sep=sep, encoding=encoding)
        step.detail = f"{len(df):,} rows, {df.shape[1]} columns"
    return df


def streamable(source: str, fmt: str | None) -> bool:
    """True when ``source`` is read in chunks: a file, directory or glob of CSV, TSV or Parquet."""
    return source != "-" and check_source(source, fmt) != "jsonl"


def create_contract(console: Console, args: argparse.Namespace, source: str, hints: ReadHints,
                    columns: Sequence[str] | None, **kwargs: Any) -> DataContract:
    """Learn a contract from ``source`` in chunks, showing progress; ``kwargs`` go to the contract."""
    from sidecar.contract.chunked import create_from_source

    with console.step(f"reading {_label(source)}") as step:
        contract = create_from_source(
            args.name, source, fmt=args.format, columns=columns, hints=hints, sep=args.sep, encoding=args.encoding,
            chunk_rows=args.chunk_rows, progress=_Progress(console, step.label), **kwargs,
        )
        step.detail = f"{contract.reference.n_rows:,} rows, {len(contract.columns)} columns"
    return contract


def validate_data(console: Console, args: argparse.Namespace, contract: DataContract) -> ValidationReport:
    """Validate ``args.data`` against ``contract`` in chunks, showing progress."""
    from sidecar.contract.chunked import validate_source

    with console.step(f"reading {_label(args.data)}") as step:
        report = validate_source(contract, args.data, fmt=args.format, sep=args.sep, encoding=args.encoding,
                                 chunk_rows=args.chunk_rows, progress=_Progress(console, step.label))
        step.detail = f"{report.row_count['actual']:,} rows"
    return report


class _Progress:
    """Rewrites ``label ... 42%`` on a terminal at most five times a second; silent elsewhere."""

    def __init__(self, console: Console, label: str) -> None:
        self.label = label
        self.err = console.err
        self.live = not console.quiet and _isatty(console.err)
        self.last = 0.0

    def __call__(self, reader: ChunkReader) -> None:
        now = time.monotonic()
        if not self.live or now - self.last < 0.2:
            return
        self.last = now
        print(f"\r\033[K{self.label} ... {reader.fraction:.0%} ({reader.rows_done:,} rows) ", end="",
              file=self.err, flush=True)
        if reader.fraction >= 1:
            # Console.step prints its result after this; leave the cursor where its own label ended.
            print(f"\r\033[K{self.label} ... ", end="", file=self.err, flush=True)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _label(source: str) -> str:
    return "standard input" if source == "-" else Path(source).name or os.fspath(source)


def is_datetime(series: pd.Series | pd.DataFrame) -> bool:
    import pandas as pd  # lazily: `sidecar run` never reads files

    return isinstance(series, pd.Series) and pd.api.types.is_datetime64_any_dtype(series.dtype)


def format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=list(FORMATS), help="data format (default: from the file name)")


def input_options(parser: argparse.ArgumentParser) -> None:
    """``--format``, ``--sep``, ``--encoding`` and ``--chunk-rows``."""
    format_option(parser)
    parser.add_argument("--sep", metavar="CHAR", type=_separator,
                        help="CSV/TSV delimiter, e.g. ';' or '\\t' (default: guessed among , ; tab | for CSV)")
    parser.add_argument("--encoding", metavar="NAME", type=_encoding,
                        help="text encoding of CSV/TSV/JSON Lines (default: utf-8)")
    parser.add_argument("--chunk-rows", type=positive_int, default=DEFAULT_CHUNK_ROWS, metavar="N",
                        help="rows read at a time; memory grows with it, not with the data (default: %(default)s)")


def _encoding(text: str) -> str:
    try:
        codecs.lookup(text)
    except LookupError:
        raise argparse.ArgumentTypeError(f"unknown encoding {text!r}") from None
    return text


def _separator(text: str) -> str:
    sep = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(sep) != 1:
        raise argparse.ArgumentTypeError(f"expected one character (or '\\t'), got {text!r}")
    return sep


def name_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return names


def positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return n
