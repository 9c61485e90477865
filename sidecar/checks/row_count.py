"""Row count check: the number of rows against an expected count the user configured.

A batch or a window is as large as it is: comparing it with the reference's size would call a healthy
1,000-row batch against a 10,000-row reference critical. So without ``expected`` the row is information
(expected = the reference's size, actual, change), healthy, with no thresholds. With
``row_count_test.configure(expected=N)`` (a batch's expected rows, or a stream window's) the relative change
``|actual - expected| / expected`` is judged against the thresholds. A batch with no rows at all is
critical either way: nothing else in it can be checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidecar.checks.base import TABLE, Check, CheckSettings, register_check, resolve_thresholds
from sidecar.checks.result import CheckResult, Status
from sidecar.errors import ConfigurationError
from sidecar.stats.profile import Profile

__all__ = ["DEFAULTS", "RowCountCheck", "RowCountSettings", "row_count_change"]

#: (warning, critical) on |actual - expected| / expected, once an expected count is configured.
DEFAULTS = (0.5, 0.9)


class RowCountSettings(CheckSettings):
    """``expected`` rows per batch or window; ``None``: information only (no thresholds)."""

    expected: int | None = None


def row_count_change(expected: int, actual: int) -> float | None:
    """Signed relative change, ``None`` when nothing was expected."""
    return (actual - expected) / expected if expected > 0 else None


@register_check
class RowCountCheck(Check):
    """A single table row; value = |relative change| against the configured expected count."""

    name = "row_count"
    accessor = "row_count_test"
    order = 20
    options = ("expected",)
    settings_model = RowCountSettings
    table_level = True
    needs_rows = False

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        expected = kwargs.pop("expected", None)
        if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int) or expected < 0):
            raise ConfigurationError(f"row_count: expected must be a whole number >= 0, got {expected!r}")
        if expected is None:
            if kwargs.keys() & {"threshold", "warning", "critical"}:
                raise ConfigurationError("row_count: thresholds need expected= (the rows a batch or window should "
                                         "have); without it the row count is information only")
            return {TABLE: RowCountSettings(warning=None, critical=None)}
        warn, crit = resolve_thresholds("row_count", DEFAULTS, **kwargs)
        return {TABLE: RowCountSettings(warning=warn, critical=crit, expected=expected)}

    def evaluate(
        self, column: str, settings: CheckSettings, reference: Profile, current: Profile
    ) -> list[CheckResult]:
        assert isinstance(settings, RowCountSettings)
        configured = settings.expected is not None
        expected = settings.expected if settings.expected is not None else reference.n_rows
        change = row_count_change(expected, current.n_rows)
        value = abs(change) if change is not None else None
        if current.n_rows == 0 and expected > 0:
            return [CheckResult(check=self.name, column=None, status=Status.CRITICAL, value=value,
                                warning=settings.warning, critical=settings.critical,
                                details={"expected": expected, "actual": 0, "change": change,
                                         "configured": configured, "reason": "no rows to check"})]
        if not configured:
            # No number: a batch's size against the reference's is no measurement of anything.
            return [CheckResult(check=self.name, column=None, status=Status.HEALTHY, value=None,
                                details={"expected": expected, "actual": current.n_rows, "change": change,
                                         "configured": False,
                                         "reason": "information: no expected row count configured"})]
        return [self.row(TABLE, value, settings, expected=expected, actual=current.n_rows, change=change,
                         configured=True)]
