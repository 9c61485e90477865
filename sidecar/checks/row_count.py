"""Row count check: relative change of the number of rows against the reference (or a set number)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidecar.checks.base import TABLE, Check, CheckSettings, register_check, resolve_thresholds
from sidecar.errors import ConfigurationError
from sidecar.report import CheckResult
from sidecar.stats.profile import Profile

__all__ = ["DEFAULTS", "RowCountCheck", "RowCountSettings", "row_count_change"]

#: (warning, critical) on |actual - expected| / expected.
DEFAULTS = (0.5, 0.9)


class RowCountSettings(CheckSettings):
    """``expected`` rows (``None``: the reference's row count)."""

    expected: int | None = None


def row_count_change(expected: int, actual: int) -> float | None:
    """Signed relative change, ``None`` when nothing was expected."""
    return (actual - expected) / expected if expected > 0 else None


@register_check
class RowCountCheck(Check):
    """A single table row; value = |relative change|. An empty current frame is critical by default."""

    name = "row_count"
    settings_model = RowCountSettings
    table_level = True

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        expected = kwargs.pop("expected", None)
        if expected is not None and (not isinstance(expected, int) or expected < 0):
            raise ConfigurationError(f"row_count: expected must be a whole number >= 0, got {expected!r}")
        warn, crit = resolve_thresholds("row_count", DEFAULTS, **kwargs)
        return {TABLE: RowCountSettings(warning=warn, critical=crit, expected=expected)}

    def evaluate(
        self, column: str, settings: CheckSettings, reference: Profile, current: Profile
    ) -> list[CheckResult]:
        assert isinstance(settings, RowCountSettings)
        expected = settings.expected if settings.expected is not None else reference.n_rows
        change = row_count_change(expected, current.n_rows)
        value = abs(change) if change is not None else None
        return [self.row(TABLE, value, settings, expected=expected, actual=current.n_rows, change=change)]
