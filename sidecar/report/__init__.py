"""Validation reports: :class:`ValidationReport` and the rows it holds (:class:`CheckResult`, :class:`Status`,
made by the checks of :mod:`sidecar.checks` and handed on here), and their renderings for people, in three
layers: :mod:`~sidecar.report.data` (the report's fields, the status and per-check
summary derived from its rows in the check registry's order, :func:`worst_by_series`), the renderings that
read it (:mod:`~sidecar.report.text` for terminals and logs, :mod:`~sidecar.report.frame` for a pandas
DataFrame with one row per result, :mod:`~sidecar.report.html` for one self-contained HTML page drawn with
the vendored uPlot from ``assets/``) and :mod:`~sidecar.report.model`, whose :class:`ValidationReport`
adds JSON and exposes the renderings as ``to_text()``, ``to_dataframe()``, ``to_html(path)`` and
``_repr_html_()`` for notebooks.
"""

from sidecar.report.data import ReportData
from sidecar.report.frame import BASE_COLUMNS, report_frame
from sidecar.report.html import render_html, render_notebook, write_html
from sidecar.report.model import TABLE_FEATURE, CheckResult, RowCount, Status, ValidationReport, worst_by_series
from sidecar.report.text import render_text

__all__ = [
    "BASE_COLUMNS",
    "TABLE_FEATURE",
    "CheckResult",
    "ReportData",
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
