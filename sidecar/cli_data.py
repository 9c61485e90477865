"""What the data-reading commands share: the input options and reading a data file with progress output.

``sidecar contract create`` reads reference data and ``sidecar validate`` current data; both read through
:func:`read_data`, so both accept the same formats and report progress the same way.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sidecar.cli import Console
from sidecar.io import FORMATS, ReadHints, read_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["format_option", "is_datetime", "name_list", "positive_int", "read_data"]


def read_data(console: Console, source: str, fmt: str | None, hints: ReadHints,
               columns: Sequence[str] | None = None) -> pd.DataFrame:
    label = "standard input" if source == "-" else Path(source).name
    with console.step(f"reading {label}") as step:
        df = read_frame(source, fmt=fmt, columns=columns, hints=hints)
        step.detail = f"{len(df):,} rows, {df.shape[1]} columns"
    return df


def is_datetime(series: pd.Series | pd.DataFrame) -> bool:
    import pandas as pd  # lazily: `sidecar run` never reads files

    return isinstance(series, pd.Series) and pd.api.types.is_datetime64_any_dtype(series.dtype)


def format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=list(FORMATS), help="data format (default: from the file name)")


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
