"""Import paths (``"module:qualname"``) for user callables: how custom checks and distances persist.

Contracts never pickle code; they store where to import it from. A function handed over directly (a
notebook lambda, a closure) works in memory: the settings that call it hold it (:class:`HoldsCallable`),
so it lives exactly as long as they do, with no process-wide table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Self

from pydantic import BaseModel, PrivateAttr

from sidecar.errors import ConfigurationError

__all__ = ["IN_MEMORY_PREFIX", "HoldsCallable", "import_path_of", "load_callable", "reference_for", "resolve"]


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


IN_MEMORY_PREFIX = "<in-memory>:"


def reference_for(fn: Callable[..., Any]) -> str:
    """The key settings store for ``fn``: its import path when it has one, else an in-memory key (which
    ``save`` and ``to_spec`` refuse). The function itself is held by the settings (:class:`HoldsCallable`)."""
    return import_path_of(fn) or f"{IN_MEMORY_PREFIX}{getattr(fn, '__qualname__', type(fn).__name__)}@{id(fn):x}"


def resolve(key: str, held: Callable[..., Any] | None = None) -> Callable[..., Any]:
    """The callable behind ``key``: ``held`` (the function configured in this process) when given, else the
    import path loaded; an in-memory key from another process cannot be loaded."""
    if held is not None:
        return held
    if key.startswith(IN_MEMORY_PREFIX):
        raise ConfigurationError(f"{key} was defined in another process and has no import path")
    return load_callable(key)


class HoldsCallable(BaseModel):
    """Settings that name a user function by key (:func:`reference_for`) and, when it was configured with
    the function itself, hold it: a notebook lambda lives as long as the settings that call it, not as long
    as the process. Pickling (a contract sent to the ingest worker) leaves the function behind, so the other
    process imports it by path, as it would from a file."""

    _held: Callable[..., Any] | None = PrivateAttr(default=None)

    def holding(self, fn: Callable[..., Any] | None) -> Self:
        """These settings, holding ``fn`` (``None``: nothing, the key is an import path to load)."""
        self._held = fn
        return self

    def target(self, key: str) -> Callable[..., Any]:
        """The function behind ``key`` (one of this model's fields): the held one, else by import path."""
        return resolve(key, self._held)

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state["__pydantic_private__"] = {**(state.get("__pydantic_private__") or {}), "_held": None}
        return state
