"""Special values check: change of the rate of NaN and of sentinel values (``-1``, ``""``, ...).

The value is ``|current rate - reference rate|``; its noise is the beta-binomial spread of the current count
around the reference's rate (:func:`sidecar.stats.noise.proportion_difference`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sidecar.checks._common import current_column
from sidecar.checks.base import Check, CheckSettings, register_check, resolve_thresholds, skipped
from sidecar.checks.result import CheckResult
from sidecar.errors import ConfigurationError
from sidecar.stats.noise import proportion_difference
from sidecar.stats.profile import Profile

__all__ = ["DEFAULTS", "SpecialValueSettings", "SpecialValuesCheck", "is_missing_marker"]

#: (warning, critical) on |current rate - reference rate| of one value.
DEFAULTS = (0.05, 0.1)

Scalar = str | int | float | bool | None


def is_missing_marker(value: Any) -> bool:
    """True for the keys that mean "missing": ``None`` and NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


class SpecialValueRule(CheckSettings):
    """Thresholds for one value; ``value`` ``None`` means missing (NaN/None/NA)."""

    value: Scalar = None


class SpecialValueSettings(CheckSettings):
    """The watched values of one column."""

    rules: tuple[SpecialValueRule, ...] = ()


@register_check
class SpecialValuesCheck(Check):
    """One row per (column, watched value): value = |current rate - reference rate|."""

    name = "special_values"
    accessor = "special_value_test"
    order = 30
    options = ("thresholds", "values")
    settings_model = SpecialValueSettings

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        thresholds: Mapping[Any, Any] | None = kwargs.pop("thresholds", None)
        values = kwargs.pop("values", None)
        if kwargs.keys() - {"threshold", "warning", "critical"}:
            raise ConfigurationError(f"special_values: unexpected arguments {sorted(kwargs)}")
        rules: list[SpecialValueRule] = []
        if thresholds is not None:
            if not isinstance(thresholds, Mapping) or not thresholds:
                raise ConfigurationError("special_values: thresholds must be a non-empty {value: threshold} dict")
            for value, spec in thresholds.items():
                _check_value(value)
                if isinstance(spec, Mapping):
                    warn, crit = resolve_thresholds(f"special_values value {value!r}", DEFAULTS, **spec)
                else:
                    warn, crit = resolve_thresholds(f"special_values value {value!r}", DEFAULTS, threshold=spec)
                rules.append(SpecialValueRule(value=None if is_missing_marker(value) else value,
                                              warning=warn, critical=crit))
        else:
            warn, crit = resolve_thresholds("special_values", DEFAULTS, **kwargs)
            for value in values if values is not None else [None]:
                _check_value(value)
                rules.append(SpecialValueRule(value=None if is_missing_marker(value) else value,
                                              warning=warn, critical=crit))
        return {c: SpecialValueSettings(rules=tuple(rules)) for c in columns}

    def evaluate(
        self, column: str, settings: CheckSettings, reference: Profile, current: Profile
    ) -> list[CheckResult]:
        assert isinstance(settings, SpecialValueSettings)
        cur, reason = current_column(column, current)
        rows = []
        ref = reference.columns[column]
        for rule in settings.rules:
            label = "missing" if rule.value is None else rule.value
            if cur is None:
                row = skipped(self.name, column, reason or "", rule)
                rows.append(row.model_copy(update={"details": {**row.details, "special_value": label}}))
                continue
            ref_hits, cur_hits = ref.special_count(rule.value), cur.special_count(rule.value)
            ref_rate = ref_hits / ref.count if ref.count else 0.0
            cur_rate = cur_hits / cur.count
            noise = proportion_difference(ref_hits, ref.count, cur.count) if ref.count else None
            rows.append(self.row(column, abs(cur_rate - ref_rate), rule, noise, special_value=label,
                                 reference_rate=ref_rate, current_rate=cur_rate))
        return rows


def _check_value(value: Any) -> None:
    if not (is_missing_marker(value) or isinstance(value, str | int | float | bool)):
        raise ConfigurationError(f"special_values: value {value!r} must be NaN/None, a number, a string or a bool")
