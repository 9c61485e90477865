"""Times to epoch seconds: RFC 3339 / ISO 8601 strings and epoch numbers, one value or a whole column.

Both paths count whole microseconds since the epoch and divide by 1e6 once, so a string parsed by Arrow
(the vectorised fast path) and the same string parsed by Python (the fallback) give the identical float.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

__all__ = ["MAX_EPOCH_SECONDS", "MIN_EPOCH_SECONDS", "parse_datetime_text", "parse_datetime_texts"]

MIN_EPOCH_SECONDS = -62_135_596_800.0
"""0001-01-01T00:00:00Z: the earliest time Python's datetime can represent."""
MAX_EPOCH_SECONDS = 253_402_300_799.0
"""9999-12-31T23:59:59Z: the latest whole second Python's datetime can represent."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def parse_datetime_text(text: str) -> float:
    """Parse an RFC 3339 / ISO 8601 time to epoch seconds.

    A time without an offset is taken as UTC (RFC 3339 requires an offset; producers often omit it). A
    date alone is midnight UTC. Lower-case ``t`` and ``z`` are accepted as RFC 3339 allows.

    Raises
    ------
    ValueError
        The text is not an ISO 8601 time.

    Examples
    --------
    >>> parse_datetime_text("2026-11-26T10:00:00Z")
    1795687200.0
    >>> parse_datetime_text("2026-11-26T12:00:00+02:00")
    1795687200.0
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        # RFC 3339 section 5.6 allows "t" and "z"; Python only knows the upper-case letters.
        moment = datetime.fromisoformat(text.upper())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ((moment - _EPOCH) // _MICROSECOND) / 1e6


def parse_datetime_texts(texts: Sequence[str | None]) -> np.ndarray | None:
    """Parse many time strings at once with Arrow; ``None`` entries become ``NaN``.

    Returns ``None`` when Arrow rejects any of them (a time without offset, nanoseconds, a malformed
    string): the caller then parses value by value to keep Python's wider acceptance and to find the
    offending entry.
    """
    # Imported here: the sidecar's main process loads decoders' helpers but never parses, and pyarrow
    # costs it about 30 MB.
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        parsed = pc.cast(pa.array(texts, type=pa.string()), pa.timestamp("us", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    micros = parsed.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return np.asarray(micros, dtype=np.float64) / 1e6
