"""How one column is counted: the :class:`ColumnSpec` every counting module reads.

A spec fixes the kind, bin edges, tracked categories, special values, bounds and distinct counting of a
column. It has a home of its own, below both the per-column statistics (:mod:`sidecar.stats.column`) and
the vectorised numeric counting (:mod:`sidecar.stats.block`), so that neither has to import the other to
learn how a column is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sidecar.stats.kinds import ColumnKind

__all__ = ["CHUNK_ROWS", "ColumnSpec", "Scalar"]

#: Numeric columns are counted in chunks of this many rows (64 Ki float64 = 512 KiB, about L2-sized).
CHUNK_ROWS = 1 << 16

Scalar = str | int | float | bool


@dataclass(frozen=True)
class ColumnSpec:
    """How one column is profiled. Immutable; derive variants with :meth:`with_`.

    Examples
    --------
    >>> spec = ColumnSpec("age", ColumnKind.NUMERIC, "int64", edges=(0.0, 50.0, 120.0))
    >>> spec.is_numeric, spec.with_(upper=120.0).upper
    (True, 120.0)
    """

    name: str
    kind: ColumnKind
    dtype: str
    edges: tuple[float, ...] = ()
    categories: tuple[Scalar, ...] = ()
    special_values: tuple[Scalar, ...] = ()
    lower: float | None = None
    upper: float | None = None
    #: Keep a distinct-count sketch. Contracts track it in the reference; stream windows only for columns
    #: with a uniqueness check, since hashing every value is the costliest statistic.
    distinct: bool = True
    #: With ``distinct``: count distinct values exactly (a :class:`~sidecar.stats.sketch.HashSet`, 8 bytes
    #: per value) until more than this many non-missing rows were seen, then only with the sketch. 0 = never
    #: (the sketch alone). Stream windows of uniqueness-checked columns set it, so unique ids count exactly
    #: 0 duplicates instead of the sketch's percent or two of error.
    exact_distinct: int = 0
    #: An identifier (all values unique in the reference): no values, edges or extremes are stored, and no
    #: distribution, range or domain check applies by default. Does not change counting.
    identifier: bool = False

    @property
    def is_numeric(self) -> bool:
        """True for columns counted into a histogram (numeric and datetime)."""
        return self.kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME)

    def with_(self, **changes: Any) -> ColumnSpec:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def counting_key(self) -> tuple[Any, ...]:
        """Everything that must match for two profiles to be mergeable."""
        return (self.kind, self.edges, self.categories, self.special_values, self.lower, self.upper, self.distinct,
                self.exact_distinct)
