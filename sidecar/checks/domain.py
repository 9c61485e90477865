"""Domain check: share of rows holding values outside the allowed set (by default the reference's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidecar.checks.base import CheckSettings, ColumnCheck, register_check, resolve_thresholds
from sidecar.errors import ConfigurationError
from sidecar.report import CheckResult
from sidecar.stats.column import ColumnProfile
from sidecar.stats.profile import Profile

__all__ = ["DEFAULTS", "MAX_EXAMPLES", "DomainCheck", "DomainSettings"]

#: (warning, critical) on the share of rows with unseen values: any is a warning, over 1% critical.
DEFAULTS = (0.0, 0.01)
#: How many unseen values a report row lists.
MAX_EXAMPLES = 10


class DomainSettings(CheckSettings):
    """The allowed values."""

    allowed: tuple[str | int | float | bool, ...] = ()


@register_check
class DomainCheck(ColumnCheck):
    """Value = rows with a value outside the domain / non-missing rows; details list examples and the
    domain values that vanished."""

    name = "domain"
    settings_model = DomainSettings

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        allowed = kwargs.pop("allowed", None)
        out: dict[str, CheckSettings] = {}
        for c in columns:
            ref = reference.columns[c]
            if ref.spec.is_numeric:
                raise ConfigurationError(
                    f"domain: column {c!r} is {ref.spec.kind.value}; a domain needs categories "
                    "(use min_max_test for numbers)"
                )
            if allowed is None and ref.other > 0:
                raise ConfigurationError(
                    f"domain: column {c!r} has more distinct values than a profile tracks "
                    f"({len(ref.categories)}+); pass allowed= explicitly"
                )
            values = tuple(allowed) if allowed is not None else tuple(ref.spec.categories)
            warn, crit = resolve_thresholds(f"domain column {c!r}", DEFAULTS, **kwargs)
            out[c] = DomainSettings(warning=warn, critical=crit, allowed=values)
        return out

    def evaluate_column(
        self, column: str, settings: CheckSettings, ref: ColumnProfile, cur: ColumnProfile, current: Profile
    ) -> list[CheckResult]:
        assert isinstance(settings, DomainSettings)
        allowed = {(type(v), v) for v in settings.allowed}
        unseen = {k: n for k, n in cur.categories.items() if (type(k), k) not in allowed}
        # Values folded into "other" past the category cap are unseen unless proven otherwise.
        outside = sum(unseen.values()) + cur.other
        present = cur.count - cur.nulls
        share = outside / present if present else 0.0
        seen = {(type(k), k) for k in cur.categories}
        examples = sorted(unseen, key=lambda k: (-unseen[k], repr(k)))[:MAX_EXAMPLES]
        vanished = [v for v in settings.allowed if (type(v), v) not in seen][:MAX_EXAMPLES]
        return [self.row(column, share, settings, unseen_rows=outside, unseen_examples=examples,
                         vanished_examples=vanished)]
