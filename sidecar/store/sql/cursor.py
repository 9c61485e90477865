"""The listing's opaque cursor: the ``(time, id)`` of a page's last row, where the next page starts.

A keyset cursor, not an offset: the next page is ``(time, id) < cursor`` in the listing's order, so a page
1,000 deep costs what the first does, and reports arriving while someone pages (newer ones, on top) neither
shift nor repeat the rows below. Opaque to clients (URL-safe base64), but not a secret: it holds nothing
a listing did not show.

>>> from datetime import UTC, datetime
>>> c = encode_cursor(datetime(2026, 1, 1, 0, 5, tzinfo=UTC), "a1b2")
>>> c, decode_cursor(c) == (datetime(2026, 1, 1, 0, 5, tzinfo=UTC), "a1b2")
('MTc2NzIyNTkwMDAwMDAwMHxhMWIy', True)
>>> decode_cursor("bm9wZQ")
Traceback (most recent call last):
...
sidecar.errors.InvalidCursorError: cursor 'bm9wZQ' is not a next_cursor of this listing
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta

from sidecar.errors import InvalidCursorError
from sidecar.report.event import ID_PATTERN

__all__ = ["decode_cursor", "encode_cursor"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID = re.compile(ID_PATTERN)
_MAX_LENGTH = 256


def encode_cursor(time: datetime, report_id: str) -> str:
    """The cursor after the row ``(time, report_id)``: microseconds since the epoch, ``|``, the id."""
    micros = (time - _EPOCH) // timedelta(microseconds=1)
    raw = f"{micros}|{report_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """``(time, id)`` of :func:`encode_cursor`; :class:`~sidecar.errors.InvalidCursorError` otherwise."""
    try:
        if len(cursor) > _MAX_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        micros, sep, report_id = raw.partition("|")
        if not sep or not _ID.fullmatch(report_id):
            raise ValueError("no id")
        return _EPOCH + timedelta(microseconds=int(micros)), report_id
    except (ValueError, binascii.Error, OverflowError) as exc:
        shown = cursor if len(cursor) <= 40 else cursor[:40] + "..."
        raise InvalidCursorError(f"cursor {shown!r} is not a next_cursor of this listing") from exc
