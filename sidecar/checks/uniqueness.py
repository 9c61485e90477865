"""Uniqueness check: share of duplicate values among the non-missing ones.

Exact in batch validation (the one check that reads rows, via ``Profile.duplicates``); estimated from the
HyperLogLog sketch in streaming windows, where rows are not kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidecar.checks.base import CheckSettings, ColumnCheck, register_check, resolve_thresholds
from sidecar.report import CheckResult
from sidecar.stats.column import ColumnProfile
from sidecar.stats.noise import MaxAbsNormal
from sidecar.stats.profile import Profile

__all__ = ["DEFAULTS", "UniquenessCheck"]

#: (warning, critical) on the duplicate share: any duplicate is a warning, over 1% critical.
DEFAULTS = (0.0, 0.01)


@register_check
class UniquenessCheck(ColumnCheck):
    """Value = duplicates / non-missing values."""

    name = "uniqueness"
    settings_model = CheckSettings

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        out: dict[str, CheckSettings] = {}
        for c in columns:
            warn, crit = resolve_thresholds(f"uniqueness column {c!r}", DEFAULTS, **kwargs)
            out[c] = CheckSettings(warning=warn, critical=crit)
        return out

    def evaluate_column(
        self, column: str, settings: CheckSettings, ref: ColumnProfile, cur: ColumnProfile, current: Profile
    ) -> list[CheckResult]:
        present = cur.count - cur.nulls
        noise = None
        if column in current.duplicates:
            dupes, exact = current.duplicates[column], True
        else:
            distinct = cur.distinct
            dupes, exact = max(present - round(distinct), 0), False
            # The sketch's relative error (1.04 / sqrt(registers)) is the noise of an estimated share.
            rse = 1.04 / (1 << cur.hll.precision) ** 0.5
            noise = MaxAbsNormal(sd=rse * distinct / present if present else 0.0)
        share = dupes / present if present else 0.0
        return [self.row(column, share, settings, noise, duplicates=dupes, non_missing=present, exact=exact)]
