"""Min/max check: share of values outside ``[lower_bound, upper_bound]``.

On by default for numeric columns with the reference's own minimum and maximum as bounds. Values of the
same population still land outside those now and then: for ``m`` reference values the mass outside their
range is ``Beta(2, m-1)`` (expected share ``2/(m+1)``), so the count outside among ``n`` new values is
beta-binomial. That is the noise a share must exceed; with user bounds, the reference's own share outside
them (read off its histogram) takes the place of the extremes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from sidecar.checks.base import CheckSettings, ColumnCheck, register_check, resolve_thresholds
from sidecar.checks.result import CheckResult
from sidecar.errors import ConfigurationError
from sidecar.stats.column import ColumnProfile
from sidecar.stats.nullmodels import BetaBinomialShare
from sidecar.stats.profile import Profile

__all__ = ["DEFAULTS", "MinMaxCheck", "MinMaxSettings"]

#: (warning, critical) on the share of non-missing values out of bounds: 0.1% and 0.5%, each also beyond
#: the noise bound.
DEFAULTS = (0.001, 0.005)


class MinMaxSettings(CheckSettings):
    """Bounds (``None`` on a side: the reference's minimum or maximum)."""

    lower_bound: float | None = None
    upper_bound: float | None = None


@register_check
class MinMaxCheck(ColumnCheck):
    """Value = share of non-missing values below the lower or above the upper bound."""

    name = "min_max"
    accessor = "min_max_test"
    order = 40
    options = ("lower_bound", "upper_bound")
    settings_model = MinMaxSettings

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        lower = kwargs.pop("lower_bound", None)
        upper = kwargs.pop("upper_bound", None)
        out: dict[str, CheckSettings] = {}
        for c in columns:
            ref = reference.columns[c]
            if ref.spec.identifier and lower is None and upper is None:
                raise ConfigurationError(f"min_max: column {c!r} is an identifier; its extremes are not stored "
                                         "(pass lower_bound= / upper_bound= to bound it)")
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
        return [self.row(column, share, settings, _noise(ref, settings, present), lower_bound=settings.lower_bound,
                         upper_bound=settings.upper_bound, below=cur.below, above=cur.above,
                         current_min=_finite(cur.minimum), current_max=_finite(cur.maximum))]


def _noise(ref: ColumnProfile, settings: MinMaxSettings, n: int) -> BetaBinomialShare | None:
    """Null model of the share outside the bounds for ``n`` new values of the reference's population."""
    m = ref.count - ref.nulls
    sides = (settings.lower_bound is not None) + (settings.upper_bound is not None)
    if n <= 0 or m <= 0 or sides == 0:
        return None
    outside = _reference_outside(ref, settings.lower_bound, settings.upper_bound)
    a = outside + sides  # each bound at or past an extreme adds one gap of the m+1 (Beta(1, m) per side)
    return BetaBinomialShare(n=n, a=a, b=max(m + 1.0 - a, 1.0))


def _reference_outside(ref: ColumnProfile, lower: float | None, upper: float | None) -> float:
    """Reference values outside the bounds, from its histogram (interpolated within a bin); 0 when the bounds
    are at or past the reference's extremes."""
    edges = np.asarray(ref.spec.edges, dtype=np.float64)
    inner = ref.hist[1:-2].astype(np.float64)  # regular bins (slots: underflow, bins.., overflow, missing)
    if edges.size < 2 or inner.size != edges.size - 1 or ref.spec.identifier:
        return 0.0
    cdf = np.concatenate([[0.0], np.cumsum(inner)])  # reference values below each edge
    total = float(cdf[-1])
    out = 0.0
    if lower is not None and not math.isnan(ref.minimum) and lower > ref.minimum:
        out += float(np.interp(lower, edges, cdf))
    if upper is not None and not math.isnan(ref.maximum) and upper < ref.maximum:
        out += total - float(np.interp(upper, edges, cdf))
    return max(out, 0.0)


def _bound(name: str, value: Any, column: str, default: float) -> float | None:
    if value is None:
        return None if math.isnan(default) else float(default)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigurationError(f"min_max: column {column!r}: {name} must be a number, got {value!r}")
    return float(value)


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x
