"""A report as a pandas DataFrame: one row per result, simple details flattened into columns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from sidecar.report.data import ReportData

__all__ = ["BASE_COLUMNS", "report_frame"]

#: The columns every frame starts with, in this order; flattened details follow, sorted by name.
BASE_COLUMNS = ("check", "column", "status", "value", "warning", "critical")

_SCALARS = (str, int, float, bool)


def _flatten(details: Mapping[str, Any], prefix: str = "details") -> Iterator[tuple[str, Any]]:
    """``(column name, value)`` for every scalar in ``details``; nested dicts of scalars become dotted names
    (``details.false_alarm.warning``). Lists (bin shares, examples) stay out: one cell per row cannot hold
    them readably, and they remain in ``report.results`` and the JSON."""
    for key, value in details.items():
        name = f"{prefix}.{key}"
        if value is None or isinstance(value, _SCALARS):
            yield name, value
        elif isinstance(value, Mapping):
            yield from _flatten(value, name)


def report_frame(report: ReportData) -> pd.DataFrame:
    """One row per result in the report's order (worst first).

    Columns: ``check``, ``column`` (``None`` for table-level checks), ``status`` (the string value),
    ``value``, ``warning``, ``critical``, then one ``details.<key>`` column per scalar detail found in any
    row (missing where a row has no such key).

    Examples
    --------
    >>> from sidecar.report.model import CheckResult, ValidationReport
    >>> r = ValidationReport(contract="c", results=[
    ...     CheckResult(check="min_max", column="age", status="warning", value=0.01, details={"below": 3}),
    ...     CheckResult(check="schema", column="age", status="healthy", details={"bins": [1, 2]})])
    >>> frame = report_frame(r)
    >>> list(frame.columns), frame["details.below"].tolist()
    (['check', 'column', 'status', 'value', 'warning', 'critical', 'details.below'], [3.0, nan])
    """
    records = []
    detail_names: dict[str, None] = {}
    for r in report.results:
        flat = dict(_flatten(r.details))
        detail_names.update(dict.fromkeys(flat))
        records.append({"check": r.check, "column": r.column, "status": r.status.value, "value": r.value,
                        "warning": r.warning, "critical": r.critical, **flat})
    import pandas as pd  # lazily: the streaming sidecar imports the report package but never builds frames

    columns = [*BASE_COLUMNS, *sorted(detail_names)]
    # value/warning/critical stay float columns (NaN = no number) so they sort and filter as numbers.
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame = frame.astype({"value": float, "warning": float, "critical": float})
    # Table-level rows keep column None (as in CheckResult), not the NaN pandas' string dtype would use.
    frame["column"] = pd.Series([r.column for r in report.results], index=frame.index, dtype=object)
    return frame
