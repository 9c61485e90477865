"""The HTML report in a real headless Chromium: offline, no errors, the right counts, every chart drawn.

The report is the README's SDK example (section "Data contracts (Python SDK)"); the page is opened from a
file:// URL with every other request aborted and recorded, so a CDN reference or a fetch would fail the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sidecar import DataContract, ValidationReport
from sidecar.demo import churn_frame

pytestmark = pytest.mark.browser

HOSTILE = "<script>alert(1)</script>"
DEADLINE_MS = 15_000


def readme_report() -> ValidationReport:
    """The report of the README SDK example (same frames, same configure calls)."""
    reference_df = churn_frame(5000, seed=1)
    current_df = churn_frame(2000, seed=2, drift=0.6)
    contract = DataContract("churn_inputs", reference_df)
    contract.distribution_test.configure(["tenure_months", "plan"], threshold=0.2, method="psi")
    contract.distribution_test.configure(["monthly_spend"], threshold=0.1, method="l-infinity")
    contract.special_value_test.configure(["monthly_spend"], thresholds={np.nan: 0.1, -1: 0.2})
    contract.min_max_test.configure(["age"], lower_bound=0, upper_bound=120)
    contract.domain_test.configure(["country"])
    contract.uniqueness_test.configure(["customer_id"])
    return contract.validate(current_df)


@dataclass
class Visit:
    """What a page did while loaded: console errors, page errors, dialogs and blocked requests."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@pytest.fixture
def visit(chromium: Any) -> Iterator[Any]:
    """``visit(path) -> Visit``: open a local file offline and wait until its charts report drawn."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})

    def open_file(path: Path) -> Visit:
        page = context.new_page()
        seen = Visit(page)
        page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: seen.page_errors.append(str(e)))
        page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))

        def route(r: Any) -> None:
            if r.request.url.startswith("file://"):
                r.continue_()
            else:
                seen.blocked.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.goto(path.resolve().as_uri(), wait_until="load")
        page.wait_for_function("document.body.dataset.chartsExpected !== undefined && "
                               "document.body.dataset.chartsDrawn === document.body.dataset.chartsExpected || "
                               "document.body.dataset.chartsExpected === '0'", timeout=DEADLINE_MS)
        return seen

    yield open_file
    context.close()


# Per chart: canvas size and how many pixels are not fully transparent (uPlot's canvas starts transparent).
CANVAS_STATS = """() => Array.from(document.querySelectorAll('article.column')).map(a => {
  const c = a.querySelector('.uplot canvas');
  if (!c) return {column: a.dataset.column, canvas: false};
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) painted++;
  return {column: a.dataset.column, canvas: true, width: c.width, height: c.height, painted};
})"""


def test_readme_report_renders_offline_with_a_chart_per_column(visit: Any, tmp_path: Path,
                                                               artifacts: Path) -> None:
    report = readme_report()
    path = report.to_html(tmp_path / "report.html")
    seen = visit(path)
    page = seen.page
    page.screenshot(path=str(artifacts / "report_html_readme.png"), full_page=True)

    assert seen.console_errors == [] and seen.page_errors == []
    assert seen.blocked == []  # no request other than the file itself was even attempted
    totals = {s: sum(c[s] for c in report.summary.values()) for s in ("critical", "warning", "healthy")}
    shown = {s: int(page.inner_text(f'[data-count="{s}"]')) for s in totals}
    assert shown == totals and totals["critical"] > 0
    assert page.text_content("#report-status") == report.status.value

    stats = page.evaluate(CANVAS_STATS)
    checked = {r.column for r in report.results if r.column is not None}
    assert {s["column"] for s in stats} == checked
    distribution = {r.column for r in report.results if r.check == "distribution"}
    drawn = {s["column"] for s in stats if s["canvas"]}
    assert drawn == distribution and len(distribution) == 7
    for s in stats:
        if s["canvas"]:
            assert s["width"] > 200 and s["height"] > 100, s
            assert s["painted"] > 0.01 * s["width"] * s["height"], s  # bars, axes and grid, not a blank canvas
    # The one column without a chart says why.
    (identifier,) = checked - distribution
    note = page.inner_text(f'article.column[data-column="{identifier}"] .no-chart')
    assert "no chart" in note and "identifier" in note


def test_hostile_names_stay_text(visit: Any, tmp_path: Path, artifacts: Path) -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({HOSTILE: rng.normal(0, 1, 2000), "kind": rng.choice([HOSTILE, "a&b", "plain"], 2000)})
    cur = pd.DataFrame({HOSTILE: rng.normal(1, 1, 2000), "kind": rng.choice([HOSTILE, "a&b", "plain"], 2000)})
    report = DataContract("hostile", ref, min_value_count=5).validate(cur)
    seen = visit(report.to_html(tmp_path / "hostile.html"))
    page = seen.page
    page.screenshot(path=str(artifacts / "report_html_hostile.png"), full_page=True)

    assert seen.dialogs == [] and seen.page_errors == [] and seen.console_errors == []
    assert page.evaluate("document.querySelectorAll('main script').length") == 0
    headings = page.eval_on_selector_all("article.column h3", "hs => hs.map(h => h.firstChild.textContent.trim())")
    assert HOSTILE in headings
    assert page.evaluate("Number(document.body.dataset.chartsDrawn)") == 2


def test_notebook_repr_draws_inside_its_iframe(chromium: Any) -> None:
    report = readme_report()
    page = chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.set_content(f"<html><body>{report._repr_html_()}</body></html>", wait_until="load")
        frame = page.frame_locator("iframe")
        frame.locator("body[data-charts-drawn='7']").wait_for(state="attached", timeout=DEADLINE_MS)
        assert frame.locator(".uplot canvas").count() == 7
        assert frame.locator('[data-count="critical"]').text_content() == str(
            sum(c["critical"] for c in report.summary.values()))
        assert errors == []
    finally:
        page.close()
