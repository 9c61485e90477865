"""Settings keys: where one entry of a check's settings applies.

A contract stores each check's settings per key (in memory and in its file, ``checks.<check>.<key>``):
``"*"`` for a table-level check (schema, row count), the column name for a column check, and
``"column::name"`` for a named check (custom checks, several per column). :class:`SettingsKey` is that key
as data; everything that reads a key (the check loop, specs, diffs, ``contract show``, the metrics' feature
label) parses it here rather than splitting strings itself.

A column name may hold ``::`` (data names its columns); a named check's name may not, so a named key splits
at its last ``::`` and every key reads one way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sidecar.errors import ConfigurationError

__all__ = ["SEP", "TABLE", "SettingsKey"]

#: Key of table-level checks, and the ``feature`` of their rows in metrics and alerts (a real value: an
#: empty label is no label in PromQL and would fall out of joins ``on(feature)``).
TABLE = "*"
#: Between the column and the check's name in the key of a named check.
SEP = "::"


@dataclass(frozen=True)
class SettingsKey:
    """``column`` (``None``: the table) and, for a named check, its ``name``.

    Examples
    --------
    >>> SettingsKey.parse("spend::not_negative", named=True)
    SettingsKey(column='spend', name='not_negative')
    >>> str(SettingsKey("spend", "not_negative")), str(SettingsKey(None)), SettingsKey.parse("*").feature
    ('spend::not_negative', '*', '*')
    >>> SettingsKey.parse("a::b").column, SettingsKey.parse("a::b::c", named=True)  # a column may hold "::"
    ('a::b', SettingsKey(column='a::b', name='c'))
    """

    column: str | None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.name is not None and SEP in self.name:
            raise ConfigurationError(f"check name {self.name!r} may not contain {SEP!r}: it separates the column "
                                     "from the name in a settings key")

    @classmethod
    def parse(cls, text: str, *, named: bool = False) -> SettingsKey:
        """The key written as ``text``. ``named``: the key of a named check (``column::name``), split at the
        last ``::``; any other check's key is the column name whole."""
        if text == TABLE:
            return cls(None)
        if named:
            column, sep, name = text.rpartition(SEP)
            return cls(column, name) if sep else cls(text)
        return cls(text)

    def __str__(self) -> str:
        if self.column is None:
            return TABLE
        return self.column if self.name is None else f"{self.column}{SEP}{self.name}"

    @property
    def feature(self) -> str:
        """The column, or :data:`TABLE` for the table: what a check is evaluated on and the metrics label."""
        return TABLE if self.column is None else self.column

    def sort_key(self, position: Mapping[str, int]) -> tuple[int, str]:
        """Order keys by their column's ``position`` (the table first), then by the written key."""
        return (-1 if self.column is None else position.get(self.column, -1)), str(self)
