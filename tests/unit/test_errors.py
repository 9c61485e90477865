"""One error hierarchy: every error of ``sidecar.errors`` is a SidecarError and the builtin a caller expects,
and the errors raised elsewhere are these very classes, re-exported where they were defined before."""

from __future__ import annotations

import inspect

import pytest

from sidecar import errors

ERRORS = [obj for _, obj in inspect.getmembers(errors, inspect.isclass) if obj.__module__ == "sidecar.errors"]

#: Where each error was defined before it moved to errors.py, and the builtin its callers catch.
MOVED = {
    "CliError": ("sidecar.cli", ValueError),
    "DataFileError": ("sidecar.io.formats", ValueError),
    "FrameError": ("sidecar.kafka.fastio.frames", ConnectionError),
    "IngestWorkerDied": ("sidecar.stream.worker", OSError),
}


def test_every_error_is_a_sidecar_error_listed_in_all() -> None:
    assert sorted(errors.__all__) == sorted(e.__name__ for e in ERRORS)
    assert all(issubclass(e, errors.SidecarError) for e in ERRORS)
    assert all(issubclass(e, Exception) for e in ERRORS)


@pytest.mark.parametrize("name", sorted(MOVED))
def test_a_moved_error_is_the_same_class_from_its_old_module(name: str) -> None:
    import importlib

    module, builtin = MOVED[name]
    cls = getattr(errors, name)
    assert getattr(importlib.import_module(module), name) is cls
    assert issubclass(cls, builtin)
    with pytest.raises(builtin, match="said plainly"):
        raise cls("said plainly")


def test_no_error_class_is_defined_outside_errors_py() -> None:
    """Every exception class of the package lives in errors.py, but the decoders' private control flow."""
    import pkgutil

    import sidecar

    defined_elsewhere = []
    for info in pkgutil.walk_packages(sidecar.__path__, prefix="sidecar."):
        if info.name.endswith("__main__"):
            continue
        module = __import__(info.name, fromlist=["_"])
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == info.name and info.name != "sidecar.errors":
                defined_elsewhere.append(f"{info.name}.{obj.__qualname__}")
    # Rejected never leaves a decoder's decode(): a bad message becomes a MessageError row (see its docstring).
    assert defined_elsewhere == ["sidecar.decoders.base.Rejected"]
