"""Column kinds: how the statistics core treats a column."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ColumnKind"]


class ColumnKind(StrEnum):
    """The statistical kind of a column.

    ``numeric`` columns (ints, floats, datetimes as epoch seconds) get fixed-edge histograms;
    ``categorical`` columns (strings, categories, booleans) get bounded category counts.
    """

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
