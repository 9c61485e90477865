"""Domain check: share of rows holding values outside the allowed set (by default the reference's).

On by default for categorical columns whose every reference value is known. Values seen fewer than
``min_value_count`` times in the reference are known by keyed hash only (:mod:`sidecar.stats.hashing`), so
the contract holds no rare raw values. A sample of the same population still shows values the reference
never saw, about as often as the reference saw values only once (Good-Turing): with ``f1`` singletons in
``m`` reference rows, the unseen mass has mean ``(f1 + 1) / (m + 1)`` and, after Esty, a spread of about
``sqrt(f1 + 2 f2) / m`` (``f2``: values seen twice), and the unseen count among ``n`` new rows is
beta-binomial around it. That is the noise a share must exceed. A profile counts the rare values (seen
fewer than ``min_value_count`` times) and their rows but not ``f2`` apart, so ``f2`` is taken at its
largest given those two numbers (conservative). The spread ``sqrt(f1) / m`` alone, as
``Beta(f1 + 1, m - f1)`` has it, is too narrow where many values were seen two to four times: on Zipf
columns of 50 to 200 categories at 1,000 rows it made p-values below 1e-3 six to nine times as frequent
as they should be; with Esty's spread they are about as frequent as they should be or rarer.

A **closed** domain is one whose unseen mass is about zero: every value the reference saw, it saw at
least :data:`CLOSED_MIN_COUNT` times (no singletons, and none of the next-rarest counts that betray a tail
of rare values; for an explicit ``allowed`` list: no reference row outside it). There a new value is not
noise but news (a new code from upstream), so any value outside the domain is at least a warning, whatever
its share; critical still needs 1 % of the rows and a share beyond noise. ``closed=True`` or ``False``
overrides the detection. The price, stated plainly: a population value rarer than about ``1/m`` can be
missing from a closed-looking reference and show up later as a warning; ``closed=False`` judges such
columns by noise alone.

The finding lists the new values (at most :data:`MAX_EXAMPLES`, most frequent first): raw where the
reference stored its values raw, as keyed hashes (``unseen_examples_hashed``) where it stored its rare
values hashed, so a report holds no rare raw value the contract would not.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from sidecar.checks.base import CheckSettings, ColumnCheck, register_check, resolve_thresholds
from sidecar.checks.result import CheckResult, Status
from sidecar.errors import ConfigurationError
from sidecar.stats.column import ColumnProfile
from sidecar.stats.hashing import column_key, value_hash
from sidecar.stats.nullmodels import BetaBinomialShare
from sidecar.stats.profile import Profile

__all__ = ["CLOSED_MIN_COUNT", "DEFAULTS", "MAX_EXAMPLES", "DomainCheck", "DomainSettings"]

#: (warning, critical) on the share of rows with unseen values: 0.1% and 1%, each also beyond the noise bound.
DEFAULTS = (0.001, 0.01)
#: How many unseen values a report row lists.
MAX_EXAMPLES = 10
#: A learned domain is closed when every value the reference saw, it saw at least this many times.
CLOSED_MIN_COUNT = 5


class DomainSettings(CheckSettings):
    """The allowed values (``None``: the values the reference saw, frequent ones raw, rare ones hashed) and
    whether the domain is closed (``None``: decided from the reference, see the module docstring)."""

    allowed: tuple[str | int | float | bool, ...] | None = None
    closed: bool | None = None


@register_check
class DomainCheck(ColumnCheck):
    """Value = rows with a value outside the domain / non-missing rows; details list examples and the
    domain values that vanished."""

    name = "domain"
    accessor = "domain_test"
    order = 60
    options = ("allowed", "closed")
    settings_model = DomainSettings

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        allowed = kwargs.pop("allowed", None)
        closed = kwargs.pop("closed", None)
        if closed is not None and not isinstance(closed, bool):
            raise ConfigurationError(f"domain: closed must be true, false or left out (detected), got {closed!r}")
        out: dict[str, CheckSettings] = {}
        for c in columns:
            ref = reference.columns[c]
            if ref.spec.is_numeric:
                raise ConfigurationError(
                    f"domain: column {c!r} is {ref.spec.kind.value}; a domain needs categories "
                    "(use min_max_test for numbers)"
                )
            if allowed is None and ref.domain_hashes is None and ref.other > 0:
                why = ("is an identifier (every value unique)" if ref.spec.identifier else
                       "has more distinct values than a profile tracks")
                raise ConfigurationError(f"domain: column {c!r} {why}; pass allowed= explicitly")
            warn, crit = resolve_thresholds(f"domain column {c!r}", DEFAULTS, **kwargs)
            out[c] = DomainSettings(warning=warn, critical=crit, closed=closed,
                                    allowed=tuple(allowed) if allowed is not None else None)
        return out

    def evaluate_column(
        self, column: str, settings: CheckSettings, ref: ColumnProfile, cur: ColumnProfile, current: Profile
    ) -> list[CheckResult]:
        assert isinstance(settings, DomainSettings)
        known = _Domain(ref, settings.allowed)
        unseen = {k: n for k, n in cur.categories.items() if not known.has(k)}
        # Values folded into "other" past the category cap are unseen unless proven otherwise.
        outside = sum(unseen.values()) + cur.other
        present = cur.count - cur.nulls
        share = outside / present if present else 0.0
        examples: list[Any] = sorted(unseen, key=lambda k: (-unseen[k], repr(k)))[:MAX_EXAMPLES]
        if known.hashes:  # the reference keeps its rare values hashed: so does the report
            examples = [value_hash(known.key, v) for v in examples]
        seen = {(type(k), k) for k in cur.categories}
        listed = settings.allowed if settings.allowed is not None else ref.spec.categories
        vanished = [v for v in listed if (type(v), v) not in seen][:MAX_EXAMPLES]
        noise = None
        m = ref.count - ref.nulls
        if present and m:
            a, b = known.unseen_mass(m)
            noise = BetaBinomialShare(n=present, a=a, b=b)
        closed = settings.closed if settings.closed is not None else known.closed()
        at_least = Status.WARNING if closed and outside > 0 else Status.HEALTHY
        extra = {"unseen_examples_hashed": True} if known.hashes else {}
        return [self.row(column, share, settings, noise, at_least=at_least, unseen_rows=outside,
                         unseen_examples=examples, **extra, vanished_examples=vanished, closed_domain=closed)]


class _Domain:
    """Membership in a column's domain: raw allowed values, or the reference's raw and hashed values."""

    def __init__(self, ref: ColumnProfile, allowed: tuple[Any, ...] | None) -> None:
        self.ref = ref
        self.allowed = allowed
        values = allowed if allowed is not None else ref.spec.categories
        self.raw = {(type(v), v) for v in values}
        self.hashes = ref.domain_hashes if allowed is None else None
        self.key = column_key(ref.spec.name, ref.hll.registers) if self.hashes else b""

    def has(self, value: Hashable) -> bool:
        if (type(value), value) in self.raw:
            return True
        return bool(self.hashes) and value_hash(self.key, value) in self.hashes  # type: ignore[operator]

    def closed(self) -> bool:
        """Unseen mass about zero: for the learned domain, every reference value seen at least
        :data:`CLOSED_MIN_COUNT` times (none hashed, none folded into "other"); for an explicit list, no
        reference row outside it."""
        ref = self.ref
        if ref.count - ref.nulls <= 0:
            return False
        if self.allowed is not None:
            return self.expected_outside() == 0
        return (not self.hashes and ref.other == 0 and ref.singletons == 0
                and min(ref.categories.values(), default=0) >= CLOSED_MIN_COUNT)

    def unseen_mass(self, m: int) -> tuple[float, float]:
        """``Beta(a, b)`` of the share of new rows outside the domain: mean ``(e + 1) / (m + 1)`` with ``e`` the
        reference rows expected outside, variance about ``(f1 + 2 f2 + 1) / m**2`` for the learned domain
        (Esty's variance of the Good-Turing estimate) and ``(e + 1) / m**2`` for an explicit list.

        ``f2`` is not counted apart: with ``R`` rare values beside the singletons holding ``S`` rows (each seen
        2 to 4 times, ``min_value_count`` 5), ``f2`` is at most ``min(R, 2R - S/2)``."""
        e = self.expected_outside()
        spread = e
        if self.allowed is None:
            ref = self.ref
            f1 = float(ref.singletons)
            others = max(0.0, float(len(ref.domain_hashes or ())) - f1)  # R
            their_rows = max(0.0, float(ref.other) - f1)  # S
            spread = f1 + max(0.0, min(2.0 * others, 4.0 * others - their_rows))
        a = (e + 1.0) ** 2 / (spread + 1.0)
        return a, max(a * (m - e) / (e + 1.0), 1.0)

    def expected_outside(self) -> float:
        """Reference rows expected outside the domain: singletons (Good-Turing) for the learned domain; for
        an explicit list, reference rows outside it (values it does not name, counted in "other" included)."""
        if self.allowed is None:
            return float(self.ref.singletons)
        inside = sum(c for k, c in self.ref.categories.items() if (type(k), k) in self.raw)
        return float(self.ref.count - self.ref.nulls - inside)
