"""Browser fixtures: the system Chromium (Debian's ``chromium``) driven by Playwright, never a downloaded one.

A missing browser fails the test with the fix in the message instead of skipping it: ``make test``
installs ``chromium`` through ``scripts/bootstrap`` (``scripts/apt-packages.txt``), so a skip would only hide
a broken setup.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]


# Module scope, not session: while Playwright's sync API runs, its event loop counts as running in the main
# thread, so every async test collected after this module would fail with "Runner.run() cannot be called from
# a running event loop".
@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """A headless Chromium browser (Playwright ``Browser``) for the session."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (`make setup`, or "
                    "`apt-get install -y --no-install-recommends chromium`); browser tests never download one")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"playwright is not installed ({exc}): `.venv/bin/pip install -e '.[dev]'`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where browser tests keep screenshots: ``$SIDECAR_TEST_ARTIFACTS`` or ``test-artifacts/`` at the repo root."""
    path = Path(os.environ.get("SIDECAR_TEST_ARTIFACTS") or REPO / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path
