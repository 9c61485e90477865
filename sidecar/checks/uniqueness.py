"""Uniqueness check: share of duplicate values among the non-missing ones.

Exact in batch validation (the one check that reads rows, via ``Profile.duplicates``). Stream windows keep
no rows; they count distinct values exactly with a hash set of the values' 64-bit hashes (8 bytes a row)
up to ``exact_rows`` non-missing rows a window, so unique ids count 0 duplicates and never alarm. Past that
the HyperLogLog sketch estimates the distinct count, and its relative error enters the verdict as noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SerializerFunctionWrapHandler, model_serializer

from sidecar.checks.base import CheckSettings, ColumnCheck, register_check, resolve_thresholds
from sidecar.checks.result import CheckResult
from sidecar.errors import ConfigurationError
from sidecar.stats.column import ColumnProfile
from sidecar.stats.nullmodels import MaxAbsNormal
from sidecar.stats.profile import Profile

__all__ = ["DEFAULTS", "EXACT_ROWS", "UniquenessCheck", "UniquenessSettings"]

#: (warning, critical) on the duplicate share: any duplicate is a warning, over 1% critical.
DEFAULTS = (0.0, 0.01)

#: Non-missing rows of a stream window counted exactly (8 MB of hashes per column and open window at most).
EXACT_ROWS = 1_000_000


class UniquenessSettings(CheckSettings):
    """Thresholds, and how many non-missing rows a stream window counts exactly before the sketch takes
    over (0: always the sketch)."""

    exact_rows: int = EXACT_ROWS

    @model_serializer(mode="wrap")
    def _omit_default(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Written only when changed, so contracts saved before the setting existed keep their content hash.
        data: dict[str, Any] = handler(self)
        if data.get("exact_rows") == EXACT_ROWS:
            del data["exact_rows"]
        return data


@register_check
class UniquenessCheck(ColumnCheck):
    """Value = duplicates / non-missing values."""

    name = "uniqueness"
    accessor = "uniqueness_test"
    order = 50
    options = ("exact_rows",)
    settings_model = UniquenessSettings

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        exact_rows = kwargs.pop("exact_rows", EXACT_ROWS)
        out: dict[str, CheckSettings] = {}
        for c in columns:
            if isinstance(exact_rows, bool) or not isinstance(exact_rows, int) or exact_rows < 0:
                raise ConfigurationError(
                    f"uniqueness column {c!r}: exact_rows must be a whole number >= 0 (0: estimate with the "
                    f"sketch only), got {exact_rows!r}"
                )
            warn, crit = resolve_thresholds(f"uniqueness column {c!r}", DEFAULTS, **kwargs)
            out[c] = UniquenessSettings(warning=warn, critical=crit, exact_rows=exact_rows)
        return out

    def evaluate_column(
        self, column: str, settings: CheckSettings, ref: ColumnProfile, cur: ColumnProfile, current: Profile
    ) -> list[CheckResult]:
        present = cur.count - cur.nulls
        noise = None
        exact_distinct = None if column in current.duplicates else cur.exact_distinct_count()
        if column in current.duplicates:
            dupes, exact, method = current.duplicates[column], True, "rows"
        elif exact_distinct is not None:
            dupes, exact, method = present - exact_distinct, True, "hash set"
        else:
            distinct = cur.distinct
            dupes, exact, method = max(present - round(distinct), 0), False, "sketch"
            # The sketch's relative error (1.04 / sqrt(registers)) is the noise of an estimated share.
            rse = 1.04 / (1 << cur.hll.precision) ** 0.5
            noise = MaxAbsNormal(sd=rse * distinct / present if present else 0.0)
        share = dupes / present if present else 0.0
        return [self.row(column, share, settings, noise, duplicates=dupes, non_missing=present, exact=exact,
                         method=method)]
