"""Min/max check: share of values outside ``[lower_bound, upper_bound]``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sidecar.checks.base import CheckSettings, ColumnCheck, register_check, resolve_thresholds
from sidecar.errors import ConfigurationError
from sidecar.report import CheckResult
from sidecar.stats.column import ColumnProfile
from sidecar.stats.profile import Profile

__all__ = ["DEFAULTS", "MinMaxCheck", "MinMaxSettings"]

#: (warning, critical) on the share of non-missing values out of bounds: any is a warning, over 1% critical.
DEFAULTS = (0.0, 0.01)


class MinMaxSettings(CheckSettings):
    """Bounds (``None`` on a side: the reference's minimum or maximum)."""

    lower_bound: float | None = None
    upper_bound: float | None = None


@register_check
class MinMaxCheck(ColumnCheck):
    """Value = share of non-missing values below the lower or above the upper bound."""

    name = "min_max"
    settings_model = MinMaxSettings

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        lower = kwargs.pop("lower_bound", None)
        upper = kwargs.pop("upper_bound", None)
        out: dict[str, CheckSettings] = {}
        for c in columns:
            ref = reference.columns[c]
            if not ref.spec.is_numeric:
                raise ConfigurationError(f"min_max: column {c!r} is {ref.spec.kind.value}; bounds need numbers")
            lo = _bound("lower_bound", lower, c, ref.minimum)
            hi = _bound("upper_bound", upper, c, ref.maximum)
            if lo is not None and hi is not None and lo > hi:
                raise ConfigurationError(f"min_max: column {c!r}: lower_bound {lo} is above upper_bound {hi}")
            warn, crit = resolve_thresholds(f"min_max column {c!r}", DEFAULTS, **kwargs)
            out[c] = MinMaxSettings(warning=warn, critical=crit, lower_bound=lo, upper_bound=hi)
        return out

    def evaluate_column(
        self, column: str, settings: CheckSettings, ref: ColumnProfile, cur: ColumnProfile, current: Profile
    ) -> list[CheckResult]:
        assert isinstance(settings, MinMaxSettings)
        present = cur.count - cur.nulls
        share = (cur.below + cur.above) / present if present else 0.0
        return [self.row(column, share, settings, lower_bound=settings.lower_bound,
                         upper_bound=settings.upper_bound, below=cur.below, above=cur.above,
                         current_min=_finite(cur.minimum), current_max=_finite(cur.maximum))]


def _bound(name: str, value: Any, column: str, default: float) -> float | None:
    if value is None:
        return None if math.isnan(default) else float(default)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigurationError(f"min_max: column {column!r}: {name} must be a number, got {value!r}")
    return float(value)


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x
