"""Every runnable example in the package's docstrings (they are documentation, so they must stay true)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import sidecar

MODULES = sorted(info.name for info in pkgutil.walk_packages(sidecar.__path__, prefix="sidecar.")
                 if not info.name.endswith("__main__"))


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0
