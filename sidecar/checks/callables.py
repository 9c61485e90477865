"""Import paths (``"module:qualname"``) for user callables: how custom checks and distances persist.

Contracts never pickle code; they store where to import it from.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sidecar.errors import ConfigurationError

__all__ = ["IN_MEMORY_PREFIX", "import_path_of", "load_callable", "reference_for", "resolve"]


def import_path_of(fn: Callable[..., Any]) -> str | None:
    """``"module:qualname"`` when ``fn`` can be imported back, else ``None`` (lambdas, closures)."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module or not qualname or "<lambda>" in qualname or "<locals>" in qualname:
        return None
    return f"{module}:{qualname}"


def load_callable(path: str) -> Callable[..., Any]:
    """Import ``"module:qualname"``; raises :class:`ConfigurationError` saying what failed."""
    module_name, sep, qualname = path.partition(":")
    if not sep or not module_name or not qualname:
        raise ConfigurationError(f"import path {path!r} must look like 'package.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"import path {path!r}: cannot import module {module_name!r}: {exc}") from exc
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ConfigurationError(f"import path {path!r}: {module_name!r} has no attribute {qualname!r}") from exc
    if not callable(obj):
        raise ConfigurationError(f"import path {path!r} names a {type(obj).__name__}, not a function")
    return obj


#: Callables handed over in memory, by the key their settings store. Keeping them here (rather than
#: importing again) lets notebook functions and closures work until the contract is saved.
_IN_MEMORY: dict[str, Callable[..., Any]] = {}
IN_MEMORY_PREFIX = "<in-memory>:"


def reference_for(fn: Callable[..., Any]) -> str:
    """A key for ``fn``: its import path when it has one, else an in-memory key that ``save`` refuses."""
    key = import_path_of(fn) or f"{IN_MEMORY_PREFIX}{getattr(fn, '__qualname__', type(fn).__name__)}@{id(fn):x}"
    _IN_MEMORY[key] = fn
    return key


def resolve(key: str) -> Callable[..., Any]:
    """The callable behind a key from :func:`reference_for` or a plain import path."""
    fn = _IN_MEMORY.get(key)
    if fn is not None:
        return fn
    if key.startswith(IN_MEMORY_PREFIX):
        raise ConfigurationError(f"{key} was defined in another process and has no import path")
    return load_callable(key)
