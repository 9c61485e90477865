"""A report as one self-contained HTML page: counts, row count, findings worst first, and a reference vs
current chart for every checked column, drawn with the vendored uPlot (``sidecar/report/assets/vendor/uplot``).

Everything is inlined (CSS, uPlot, the chart script and the chart data), so the file opens offline and can
be mailed or archived. Every string that comes from data (column names, category labels, reasons) goes
through :func:`html.escape` in the markup, and the chart data sit in a JSON block with ``<``, ``>`` and
``&`` escaped so no value can close the script element.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.checks.result import CheckResult
    from sidecar.report.data import ReportData

__all__ = ["render_html", "render_notebook", "write_html"]

_STATUSES = ("critical", "warning", "healthy")
#: Detail keys shown in the findings' "details" cell, in this order, when a row has them.
_NOTE_KEYS = ("reason", "message", "method", "special_value", "reference_rate", "current_rate", "unseen_examples",
              "current_min", "current_max", "lower_bound", "upper_bound", "duplicates", "expected_dtype",
              "actual_dtype")


def _asset(*parts: str) -> str:
    text = resources.files("sidecar.report").joinpath("assets", *parts).read_text(encoding="utf-8")
    # "</" could end the inline <script>/<style> early; a vendored update must not slip one in unnoticed.
    if parts[-1].endswith((".js", ".css")) and "</" in text:
        raise ValueError(f"sidecar/report/assets/{'/'.join(parts)} contains '</' and cannot be inlined")
    return text


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(x: object) -> str:
    if x is None:
        return "&ndash;"
    if isinstance(x, bool) or not isinstance(x, int | float):
        return _e(x)
    return f"{x:.4g}"


def _json_for_script(data: Any) -> str:
    # Valid JSON that cannot contain "</script>" or "<!--": the three characters become \\u escapes.
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _note(r: CheckResult) -> str:
    parts = []
    for key in _NOTE_KEYS:
        if key in r.details and r.details[key] not in (None, [], ""):
            v = r.details[key]
            shown = ", ".join(map(str, v[:5])) if isinstance(v, list) else _num(v) if key != "reason" else v
            parts.append(f"{key.replace('_', ' ')}: {shown}" if key not in ("reason", "message") else str(shown))
    return "; ".join(parts)


def _result_rows(rows: list[CheckResult]) -> str:
    out = []
    for r in rows:
        s = r.status.value
        col = "(table)" if r.column is None else r.column
        out.append(
            f'<tr class="{s}"><td><span class="badge {s}">{s}</span></td><td>{_e(r.check)}</td><td>{_e(col)}</td>'
            f'<td class="num">{_num(r.value)}</td><td class="num">{_num(r.warning)} / {_num(r.critical)}</td>'
            f'<td class="num">{_num(r.details.get("noise_bound"))}</td><td class="num">{_num(r.details.get("p_value"))}'
            f'</td><td class="num">{_num(r.details.get("p_value_adjusted"))}</td><td>{_e(_note(r))}</td></tr>')
    head = ("<tr><th>status</th><th>check</th><th>column</th><th>value</th><th>warning / critical</th>"
            "<th>noise bound</th><th>p-value</th><th>adjusted</th><th>details</th></tr>")
    return f"<table>{head}{''.join(out)}</table>"


def _columns(report: ReportData) -> dict[str, list[CheckResult]]:
    """Checked columns, worst first, ties in the contract's order (schema rows list every column)."""
    order: dict[str, int] = {}
    for r in sorted(report.results, key=lambda r: r.check != "schema"):  # stable: schema rows first
        if r.column is not None:
            order.setdefault(r.column, len(order))
    by_column: dict[str, list[CheckResult]] = {c: [] for c in order}
    for r in report.results:
        if r.column is not None:
            by_column[r.column].append(r)
    worst = {c: max(r.status.severity for r in rows) for c, rows in by_column.items()}
    return {c: by_column[c] for c in sorted(order, key=lambda c: (-worst[c], order[c]))}


def _no_chart_reason(rows: list[CheckResult], dist: CheckResult | None) -> str:
    if dist is not None:
        return f"no chart: the distribution check did not run ({dist.details.get('reason') or 'no bins stored'})"
    if any(r.check == "schema" and r.status.value == "critical" for r in rows):
        return "no chart: the column is missing or changed kind (see the schema finding)"
    return ("no chart: no distribution check on this column (identifiers, whose values are all unique, get "
            "none: new ids are not drift; otherwise it was not enabled in the contract)")


def _column_sections(report: ReportData) -> tuple[str, list[dict[str, Any]]]:
    sections, charts = [], []
    for i, (column, rows) in enumerate(_columns(report).items()):
        worst = max(rows, key=lambda r: r.status.severity).status.value
        dist = next((r for r in rows if r.check == "distribution"), None)
        if dist is not None and all(k in dist.details for k in ("bins", "reference", "current")):
            chart_id = f"chart-{i}"
            charts.append({"id": chart_id, "column": column, "bins": [str(b) for b in dist.details["bins"]],
                           "reference": dist.details["reference"], "current": dist.details["current"]})
            method = _e(dist.details.get("method", ""))
            body = (f'<p class="muted">share of rows per bin, reference vs current; {method} = '
                    f'{_num(dist.value)}</p><div class="chart" id="{chart_id}"></div>')
        else:
            body = f'<p class="no-chart">{_e(_no_chart_reason(rows, dist))}</p>'
        checks = "".join(f'<li><span class="badge {r.status.value}">{r.status.value}</span> {_e(r.check)}'
                         f" {_num(r.value)}</li>" for r in rows)
        sections.append(f'<article class="column" data-column="{_e(column)}"><h3>{_e(column)} '
                        f'<span class="badge {worst}">{worst}</span></h3>{body}<ul>{checks}</ul></article>')
    return f'<section class="columns">{"".join(sections)}</section>', charts


def _body(report: ReportData) -> tuple[str, list[dict[str, Any]]]:
    totals = {s: sum(c[s] for c in report.summary.values()) for s in _STATUSES}
    version = f" v{report.contract_version}" if report.contract_version else ""
    status = report.status.value
    window = (f", window {_e(report.window_start)} to {_e(report.window_end)}"
              if report.window_start and report.window_end else "")
    counts = "".join(f'<div class="count {s}"><span class="n" data-count="{s}">{totals[s]}</span>{s.title()}</div>'
                     for s in _STATUSES)
    rc = report.row_count
    change = "n/a" if rc["change"] is None else f"{rc['change']:+.1%}"
    findings = [r for r in report.results if r.status.value != "healthy"]
    healthy = [r for r in report.results if r.status.value == "healthy"]
    columns, charts = _column_sections(report)
    parts = [
        f'<header><h1>Contract {_e(report.contract)}{version} <span class="badge {status}" id="report-status">'
        f'{status}</span></h1><p class="meta">validated {_e(report.created_at.isoformat(timespec="seconds"))}'
        f'{window}{" (partial window)" if report.partial else ""}</p></header>',
        f'<section class="counts" aria-label="results by status">{counts}</section>',
        f'<p class="rows" id="row-count">Rows: expected <b>{rc["expected"]:,}</b>, actual <b>{rc["actual"]:,}</b> '
        f'(<span data-change>{change}</span>)</p>',
        "<h2>Findings</h2>",
        _result_rows(findings) if findings else '<p class="muted">No warnings or critical findings.</p>',
        f"<details><summary>{len(healthy)} healthy results</summary>{_result_rows(healthy)}</details>"
        if healthy else "",
        "<h2>Columns: reference vs current</h2>",
        columns,
    ]
    return "\n".join(parts), charts


def render_html(report: ReportData) -> str:
    """The whole page as a string (see the module docstring)."""
    body, charts = _body(report)
    return Template(_asset("report.html")).substitute(
        title=_e(f"{report.contract}: {report.status.value}"), body=body, charts_json=_json_for_script(charts),
        uplot_css=_asset("vendor", "uplot", "uPlot.min.css"), report_css=_asset("report.css"),
        uplot_js=_asset("vendor", "uplot", "uPlot.iife.min.js"), report_js=_asset("report.js"),
    )


def write_html(report: ReportData, path: str | Path) -> Path:
    """Write :func:`render_html` to ``path`` (parent folders created) and return the path.

    The page is rendered before anything touches the disk, so a rendering error leaves no file behind.
    """
    text = render_html(report)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def render_notebook(report: ReportData, *, height: int = 720) -> str:
    """The page inside an ``<iframe srcdoc>`` for Jupyter: its CSS and scripts cannot touch the notebook's,
    and the sandbox lets the charts' script run without giving the page the notebook's origin."""
    return (f'<iframe srcdoc="{html.escape(render_html(report), quote=True)}" sandbox="allow-scripts" '
            f'style="width: 100%; height: {height}px; border: 1px solid #dde;" '
            f'title="{_e(report.contract)} validation report"></iframe>')
