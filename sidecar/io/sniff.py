"""Guessing a CSV file's delimiter, and catching a wrong one before it becomes a one-column data set.

Files called ``.csv`` are often separated by ``;`` (spreadsheets in locales with a decimal comma), tabs or
``|``. Read with ``,`` they come back as one column whose name holds the whole header, and every check of a
contract then fails for the wrong reason. :func:`sniff_delimiter` runs :class:`csv.Sniffer` on the first
few kilobytes; :func:`check_columns` turns a one-column result that looks mis-split into an error that says
which delimiter to pass.

Examples
--------
>>> sniff_delimiter(b"a;b;c\\n1;2;3\\n")
';'
>>> sniff_delimiter(b"a,b\\n1,2\\n")
','
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sidecar.io.formats import DataFileError

__all__ = ["DELIMITERS", "SNIFF_BYTES", "check_columns", "head_bytes", "sniff_delimiter"]

#: Delimiters the sniffer chooses among.
DELIMITERS = ",;\t|"
#: Bytes of the file the sniffer reads: enough for a header and a few dozen rows of a wide table.
SNIFF_BYTES = 64 * 1024

_OPENERS: dict[str, Any] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def head_bytes(path: str | os.PathLike[str], size: int = SNIFF_BYTES) -> bytes | None:
    """The first ``size`` (decompressed) bytes of ``path``, or ``None`` for a compression it cannot open."""
    suffix = Path(path).suffix.lower()
    if suffix in (".zst", ".zip"):
        return None
    opener: Any = _OPENERS.get(suffix, open)
    with opener(path, "rb") as f:
        data: bytes = f.read(size)
    return data


def sniff_delimiter(sample: bytes, encoding: str | None = None, default: str = ",") -> str:
    """The delimiter of CSV text starting with ``sample``, among :data:`DELIMITERS`; ``default`` when unsure.

    Only complete lines are looked at, so a row cut at the end of the sample does not mislead the sniffer.
    """
    text = sample.decode(encoding or "utf-8", errors="replace")
    if len(sample) >= SNIFF_BYTES and "\n" in text:
        text = text[: text.rfind("\n")]
    if not text.strip():
        return default
    try:
        dialect = csv.Sniffer().sniff(text, delimiters=DELIMITERS)
    except csv.Error:
        # One column, or no delimiter used consistently: the header alone may still tell.
        header = text.splitlines()[0]
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > 0 else default
    return str(dialect.delimiter)


def check_columns(columns: Sequence[object], sep: str, where: str) -> None:
    """Raise when a one-column read looks like a file cut with the wrong delimiter.

    Raises
    ------
    DataFileError
        ``columns`` is one name holding another delimiter, e.g. ``'a;b;c'`` read with ``,``.
    """
    if len(columns) != 1:
        return
    name = str(columns[0])
    found = [d for d in DELIMITERS if d != sep and d in name]
    if not found:
        return
    guess = max(found, key=name.count)
    shown = "\\t" if guess == "\t" else guess
    used = "\\t" if sep == "\t" else sep
    raise DataFileError(
        f"{where}: read 1 column {name!r} with delimiter {used!r} — the delimiter looks like {shown!r}, "
        f"pass --sep '{shown}'"
    )
