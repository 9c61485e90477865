"""Helpers shared by the per-column checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sidecar.stats.column import ColumnProfile
    from sidecar.stats.profile import Profile

__all__ = ["current_column"]


def current_column(column: str, current: Profile) -> tuple[ColumnProfile | None, str | None]:
    """The current profile of ``column``, or ``None`` and the reason no check can run on it.

    The reasons (missing column, changed type, no rows) are findings of the schema and row-count checks;
    the other checks report themselves as skipped with that reason rather than repeat the finding.
    """
    if column in current.type_errors:
        return None, current.type_errors[column]
    prof = current.columns.get(column)
    if prof is None:
        return None, "column missing from the data"
    if prof.count == 0:
        return None, "no rows to check"
    return prof, None
