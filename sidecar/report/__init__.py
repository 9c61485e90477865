"""Validation reports: :class:`ValidationReport`, :class:`CheckResult` and :class:`Status`, and their
renderings for people.

A report renders as plain text (:mod:`~sidecar.report.text`, terminals and logs), as a pandas DataFrame
(:mod:`~sidecar.report.frame`: one row per result, simple details flattened into ``details.<key>``
columns) or as one self-contained HTML page (:mod:`~sidecar.report.html`: counts, row count, findings
worst first and a reference-vs-current chart per checked column drawn with the vendored uPlot from
``assets/``, everything inlined so the file works offline). :class:`ValidationReport` exposes them as
``to_text()``, ``to_dataframe()``, ``to_html(path)`` and ``_repr_html_()`` for notebooks.
"""

from sidecar.report.frame import BASE_COLUMNS, report_frame
from sidecar.report.html import render_html, render_notebook, write_html
from sidecar.report.model import TABLE_FEATURE, CheckResult, RowCount, Status, ValidationReport, worst_by_series
from sidecar.report.text import render_text

__all__ = [
    "BASE_COLUMNS",
    "TABLE_FEATURE",
    "CheckResult",
    "RowCount",
    "Status",
    "ValidationReport",
    "render_html",
    "render_notebook",
    "render_text",
    "report_frame",
    "worst_by_series",
    "write_html",
]
