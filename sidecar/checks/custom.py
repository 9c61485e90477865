"""Custom checks: a user function, referenced by import path, judged on the column profiles.

The function is called as ``fn(reference, current)`` with two
:class:`~sidecar.stats.column.ColumnProfile` and returns a ``bool`` (True = healthy), a number (judged
against the thresholds) or a :class:`~sidecar.checks.result.Status`. Reading statistics rather than rows, the same
check runs in batch validation and on streaming windows. A function of one argument gets the current
column instead: its pandas Series in batch validation, its profile in a stream window.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from sidecar.checks.base import CheckSettings, ColumnCheck, register_check, resolve_thresholds
from sidecar.checks.callables import HoldsCallable, load_callable, reference_for
from sidecar.checks.keys import SettingsKey
from sidecar.checks.result import CheckResult, Status
from sidecar.errors import ConfigurationError
from sidecar.stats.column import ColumnProfile
from sidecar.stats.profile import Profile

__all__ = ["CustomCheck", "CustomSettings"]


class CustomSettings(CheckSettings, HoldsCallable):
    """The check's display name and the function's import path (``"module:function"``)."""

    name: str
    function: str


@register_check
class CustomCheck(ColumnCheck):
    """One row per (custom check, column)."""

    name = "custom"
    accessor = "custom_test"
    order = 80
    named = True
    options = ("name", "function")
    settings_model = CustomSettings

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        name, function = kwargs.pop("name"), kwargs.pop("function")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"custom: the check name must be a non-empty string, got {name!r}")
        SettingsKey(None, name)  # a name may not hold the key separator "::"
        if callable(function):
            path, held = reference_for(function), function
        elif isinstance(function, str):
            load_callable(function)
            path, held = function, None
        else:
            raise ConfigurationError(f"custom check {name!r}: function must be 'module:function' or a callable")
        warn, crit = resolve_thresholds(f"custom check {name!r}", (None, None), **kwargs)
        return {c: CustomSettings(warning=warn, critical=crit, name=name, function=path).holding(held) for c in columns}

    def evaluate_column(
        self, column: str, settings: CheckSettings, ref: ColumnProfile, cur: ColumnProfile, current: Profile
    ) -> list[CheckResult]:
        assert isinstance(settings, CustomSettings)
        fn = settings.target(settings.function)
        if _arity(fn) == 1:
            # One-argument checks judge the current column alone: its rows in batch validation, its
            # profile in a stream window (where rows are not kept).
            out = fn(current.frame[column] if current.frame is not None else cur)
        else:
            out = fn(ref, cur)
        if isinstance(out, Status):
            status, value = out, None
        elif isinstance(out, bool):
            status, value = (Status.HEALTHY if out else Status.CRITICAL), None
        elif isinstance(out, int | float):
            row = self.row(column, float(out), settings, name=settings.name, function=settings.function)
            return [row]
        else:
            raise ConfigurationError(
                f"custom check {settings.name!r} returned {type(out).__name__}; expected bool, number or Status"
            )
        return [CheckResult(check=self.name, column=column, status=status, value=value,
                            warning=settings.warning, critical=settings.critical,
                            details={"name": settings.name, "function": settings.function})]


def _arity(fn: Any) -> int:
    """Number of positional parameters ``fn`` takes (2 when it cannot be told, e.g. a builtin)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)
