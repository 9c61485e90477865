"""The runnable examples in the decoders' docstrings."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import sidecar.stream.decoders as decoders

MODULES = sorted(f"{decoders.__name__}.{info.name}" for info in pkgutil.iter_modules(decoders.__path__))


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name: str) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
