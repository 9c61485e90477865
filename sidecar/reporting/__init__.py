"""Reports for people: a :class:`~sidecar.report.ValidationReport` as a pandas DataFrame (one row per result,
simple details flattened into ``details.<key>`` columns) or as one self-contained HTML page (counts, row
count, findings worst first and a reference-vs-current chart per checked column drawn with the vendored
uPlot, everything inlined so the file works offline). :class:`~sidecar.report.ValidationReport` exposes
both as ``to_dataframe()``, ``to_html(path)`` and ``_repr_html_()`` for notebooks.
"""

from sidecar.reporting.frame import BASE_COLUMNS, report_frame
from sidecar.reporting.html import render_html, render_notebook, write_html

__all__ = ["BASE_COLUMNS", "render_html", "render_notebook", "report_frame", "write_html"]
