"""``ValidationReport.to_html`` and ``_repr_html_``: one self-contained page, counts, order, escaping.

What the page looks like in a real browser (charts drawn, no errors, no requests) is tested in
``tests/e2e/test_report_html.py`` (a unique basename here: test modules share one namespace).
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sidecar import DataContract, Status, ValidationReport
from sidecar.report import render_html
from sidecar.report.model import CheckResult

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def drifted(reference: pd.DataFrame, current: pd.DataFrame) -> ValidationReport:
    return DataContract("churn", reference).validate(current.assign(tenure=current["tenure"] + 8).iloc[:3000])


def _charts(page: str) -> list[dict[str, object]]:
    match = re.search(r'<script type="application/json" id="report-charts">(.*?)</script>', page, flags=re.S)
    assert match
    return list(json.loads(match.group(1)))


def test_to_html_writes_the_file_and_returns_its_path(drifted: ValidationReport, tmp_path: Path) -> None:
    path = drifted.to_html(tmp_path / "new" / "report.html")
    assert path == tmp_path / "new" / "report.html"
    assert path.read_text(encoding="utf-8") == render_html(drifted)


def test_page_is_self_contained(drifted: ValidationReport) -> None:
    page = render_html(drifted)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, flags=re.I)
    assert "<link" not in page and "<script src" not in page and "@import" not in page
    vendor = resources.files("sidecar.report").joinpath("assets", "vendor", "uplot")
    uplot = vendor.joinpath("uPlot.iife.min.js").read_text(encoding="utf-8")
    css = vendor.joinpath("uPlot.min.css").read_text(encoding="utf-8")
    assert uplot in page and css in page
    assert len(page) < len(uplot) + 120_000  # the page around uPlot stays small


def test_counts_row_count_and_findings_order(drifted: ValidationReport) -> None:
    page = render_html(drifted)
    for status in ("critical", "warning", "healthy"):
        total = sum(c[status] for c in drifted.summary.values())
        assert f'data-count="{status}">{total}<' in page
    rc = drifted.row_count
    assert f"expected <b>{rc['expected']:,}</b>, actual <b>{rc['actual']:,}</b>" in page
    assert rc["change"] is not None and f"{rc['change']:+.1%}" in page
    findings = page.split("<h2>Findings</h2>")[1].split("<details>")[0]
    shown = re.findall(r'<tr class="(critical|warning)"><td>.*?</td><td>(.*?)</td><td>(.*?)</td>', findings)
    expected = [(r.status.value, r.check, r.column) for r in drifted.results if r.status is not Status.HEALTHY]
    assert shown == expected and shown[0][0] == "critical"


def test_a_chart_per_column_with_a_distribution(drifted: ValidationReport) -> None:
    page = render_html(drifted)
    charts = _charts(page)
    dist = {r.column: r for r in drifted.results if r.check == "distribution"}
    assert {c["column"] for c in charts} == set(dist)
    for chart in charts:
        row = dist[str(chart["column"])]
        assert chart["bins"] == row.details["bins"] and chart["current"] == row.details["current"]
        assert f'id="{chart["id"]}"' in page
    # cust_id is an identifier: no distribution check, and the page says why instead of a chart.
    assert "cust_id" not in dist
    section = page.split('data-column="cust_id"')[1].split("</article>")[0]
    assert 'class="no-chart"' in section and "identifier" in section


def test_user_strings_are_escaped() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({HOSTILE: rng.normal(0, 1, 1000), "kind": rng.choice([HOSTILE, "a&b"], 1000)})
    report = DataContract("hostile", frame).validate(frame.iloc[:500])
    page = render_html(report)
    assert HOSTILE not in page
    assert html.escape(HOSTILE) in page
    assert page.count("<script") == 3  # the chart data, uPlot and the chart script; nothing from the data
    labels = [b for c in _charts(page) for b in c["bins"]]  # type: ignore[attr-defined]
    assert HOSTILE in labels  # the JSON block decodes back to the original text for the canvas labels


def test_repr_html_is_the_page_in_a_sandboxed_iframe(drifted: ValidationReport) -> None:
    snippet = drifted._repr_html_()
    match = re.fullmatch(r'<iframe srcdoc="([^"]*)" sandbox="allow-scripts" .*></iframe>', snippet, flags=re.S)
    assert match
    assert html.unescape(match.group(1)) == render_html(drifted)


def test_report_without_results_or_charts() -> None:
    report = ValidationReport(contract="c", results=[CheckResult(check="row_count", column=None,
                                                                 status=Status.CRITICAL, value=1.0)])
    page = render_html(report)
    assert 'data-count="critical">1<' in page and 'data-count="healthy">0<' in page
    assert _charts(page) == []
    assert "<span data-change>n/a</span>" in page  # no row-count change to show
