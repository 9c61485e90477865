"""The interface every check implements, the check registry and threshold handling.

A check is configured against the reference profile (``configure`` validates columns and thresholds and
returns per-column settings) and evaluated on a current profile (``evaluate`` returns result rows). Adding
a check means adding one module with a :class:`Check` subclass decorated by :func:`register_check`.

The registry is the one source of what checks exist: their names and display order (:func:`check_names`,
:func:`display_order`, used by reports, the contract's check loop, specs, diffs and ``contract show``), the
contract attribute that configures each (``accessor``), and how their settings keys read (:func:`settings_key`).
"""

from __future__ import annotations

import difflib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from sidecar.checks.keys import TABLE, SettingsKey
from sidecar.checks.result import CheckResult, Status
from sidecar.errors import ConfigurationError, UnknownNameError
from sidecar.stats.noise import FALSE_ALARM, noise_details
from sidecar.stats.nullmodels import NullModel

if TYPE_CHECKING:
    from sidecar.stats.column import ColumnProfile
    from sidecar.stats.profile import Profile

__all__ = [
    "CHECKS",
    "COMMON_OPTIONS",
    "TABLE",
    "Check",
    "CheckSettings",
    "ColumnCheck",
    "check_names",
    "columns_arg",
    "display_order",
    "get_check",
    "judge",
    "not_run",
    "order_findings",
    "register_check",
    "resolve_false_alarm",
    "resolve_thresholds",
    "settings_key",
    "skipped",
]

#: ``configure`` keywords every check takes.
COMMON_OPTIONS = ("threshold", "warning", "critical", "false_alarm_warning", "false_alarm_critical")

#: Every registered check by name, in registration order (display order is :func:`check_names`).
CHECKS: dict[str, Check] = {}

#: Display position of checks that name none (a plugin's), and of result rows no check made (``"sla"``):
#: after the built-in checks, by name.
UNORDERED = 1_000


class CheckSettings(BaseModel):
    """Base of every check's per-column settings: the two thresholds (effect sizes) and the false-alarm
    level of each (the chance, under no change, that sampling noise alone crosses its noise bound)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    warning: float | None = None
    critical: float | None = None
    false_alarm_warning: float = FALSE_ALARM["warning"]
    false_alarm_critical: float = FALSE_ALARM["critical"]

    @property
    def false_alarm(self) -> dict[str, float]:
        """``{"warning": ..., "critical": ...}``."""
        return {"warning": self.false_alarm_warning, "critical": self.false_alarm_critical}


class Check(ABC):
    """One kind of check. Subclasses set ``name``, ``accessor`` and ``settings_model`` and implement the two
    methods."""

    name: ClassVar[str]
    settings_model: ClassVar[type[CheckSettings]]
    #: The contract attribute that configures the check (``contract.distribution_test``).
    accessor: ClassVar[str]
    #: Position in reports, specs and listings (lower first; ties by name).
    order: ClassVar[int] = UNORDERED
    #: True when settings are keyed ``column::name`` (several named checks per column: custom checks).
    named: ClassVar[bool] = False
    #: True when the check runs once per table rather than once per column.
    table_level: ClassVar[bool] = False
    #: False for checks that mean something on any number of rows (schema, row count); the sidecar runs only
    #: those on a window below ``window.min_rows``.
    needs_rows: ClassVar[bool] = True
    #: The check's own ``configure`` keywords, beside the thresholds and false-alarm levels every check takes.
    options: ClassVar[tuple[str, ...]] = ()

    def reject_unknown(self, kwargs: Iterable[str]) -> None:
        """Raise :class:`ConfigurationError` naming the first keyword ``configure`` does not take.

        Checks read their options with ``kwargs.pop``, so a misspelt keyword (``expeted=500``) would otherwise
        be ignored or fail deep inside with a ``TypeError``.
        """
        accepted = (*self.options, *COMMON_OPTIONS)
        for key in kwargs:
            if key not in accepted:
                close = difflib.get_close_matches(key, (*accepted, "columns"), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigurationError(f"{self.name}: unknown keyword {key!r}{hint} "
                                         f"(accepted: {', '.join(sorted(accepted))})")

    @abstractmethod
    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        """Validate arguments against the reference; raise :class:`ConfigurationError` naming the column."""

    @abstractmethod
    def evaluate(
        self, column: str, settings: CheckSettings, reference: Profile, current: Profile
    ) -> list[CheckResult]:
        """Result rows for ``column`` (``TABLE`` for table-level checks)."""

    def row(self, column: str | None, value: float | None, settings: CheckSettings,
            noise: NullModel | None = None, *, at_least: Status = Status.HEALTHY, **details: Any) -> CheckResult:
        """A result row judged against ``settings``' thresholds and, when the value is a sample estimate,
        against the noise bounds of ``noise`` (the bounds and the p-value go into ``details``).

        The verdict is per check here; :func:`sidecar.checks.family.family_verdicts` re-judges the report's
        noise-judged rows together, asking ``noise`` (carried as :attr:`CheckResult.noise_model`) for bounds at
        the levels it settles on. ``at_least`` is the status a fact gives the row whatever the noise (a value
        outside a closed domain is a warning); it is kept in ``details["at_least"]``.
        """
        bounds, extra = noise_details(noise, value, settings.false_alarm)
        details.update(extra)
        status = judge(value, settings.warning, settings.critical, bounds)
        if at_least is not Status.HEALTHY:
            details["at_least"] = at_least.value
            status = max(status, at_least)
        result = CheckResult(
            check=self.name,
            column=None if column == TABLE else column,
            status=status,
            value=value,
            warning=settings.warning,
            critical=settings.critical,
            details=details,
        )
        return result.with_noise_model(noise) if extra else result


class ColumnCheck(Check):
    """A check judged column by column: the current column's profile is looked up once here, and a
    column that is missing, mistyped or empty yields the critical "could not run" row."""

    def evaluate(
        self, column: str, settings: CheckSettings, reference: Profile, current: Profile
    ) -> list[CheckResult]:
        from sidecar.checks._common import current_column

        cur, reason = current_column(column, current)
        if cur is None:
            return [skipped(self.name, column, reason or "", settings)]
        return self.evaluate_column(column, settings, reference.columns[column], cur, current)

    @abstractmethod
    def evaluate_column(
        self, column: str, settings: CheckSettings, ref: ColumnProfile, cur: ColumnProfile, current: Profile
    ) -> list[CheckResult]:
        """Rows for one column whose current profile exists and has rows."""


def register_check(cls: type[Check]) -> type[Check]:
    """Class decorator adding a check to :data:`CHECKS`.

    Raises :class:`ConfigurationError` when the name or the accessor is taken already, or one is missing.
    """
    for attr in ("name", "accessor", "settings_model"):
        if not hasattr(cls, attr):
            raise ConfigurationError(f"check class {cls.__qualname__} sets no {attr!r}")
    if cls.name in CHECKS:
        raise ConfigurationError(f"check {cls.name!r} is already registered ({type(CHECKS[cls.name]).__qualname__})")
    taken = {c.accessor: c.name for c in CHECKS.values()}
    if cls.accessor in taken:
        raise ConfigurationError(f"check {cls.name!r}: accessor {cls.accessor!r} is check {taken[cls.accessor]!r}'s")
    CHECKS[cls.name] = cls()
    return cls


def get_check(name: str) -> Check:
    """The registered check called ``name``; unknown names list the registered ones."""
    try:
        return CHECKS[name]
    except KeyError:
        raise UnknownNameError(f"unknown check {name!r}; registered: {', '.join(check_names())}") from None


def display_order(name: str) -> tuple[int, str]:
    """Sort key of a check name: the registered check's ``order``; other names (a result row of no
    registered check) after them; ties by name."""
    check = CHECKS.get(name)
    return (check.order if check is not None else UNORDERED), name


def check_names() -> tuple[str, ...]:
    """Every registered check's name, in display order.

    >>> import sidecar.checks
    >>> check_names()[:3]
    ('schema', 'row_count', 'special_values')
    """
    return tuple(sorted(CHECKS, key=display_order))


def settings_key(check: str, key: str) -> SettingsKey:
    """``key`` of check ``check``'s settings, parsed (named checks' keys hold a name)."""
    found = CHECKS.get(check)
    return SettingsKey.parse(key, named=found is not None and found.named)


def judge(value: float | None, warning: float | None, critical: float | None,
          noise_bounds: tuple[float, float] | None = None) -> Status:
    """Status of ``value``: a value crosses a threshold when it is strictly above it and, if
    ``noise_bounds`` (warning, critical) are given, strictly above that severity's noise bound too.
    ``None`` is healthy.

    >>> judge(0.3, 0.1, 0.25), judge(0.3, 0.1, 0.25, noise_bounds=(0.2, 0.4))
    (<Status.CRITICAL: 'critical'>, <Status.WARNING: 'warning'>)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Status.HEALTHY
    warn_noise, crit_noise = noise_bounds if noise_bounds is not None else (-math.inf, -math.inf)
    if critical is not None and value > critical and value > crit_noise:
        return Status.CRITICAL
    if warning is not None and value > warning and value > warn_noise:
        return Status.WARNING
    return Status.HEALTHY


def skipped(check: str, column: str | None, reason: str, settings: CheckSettings | None = None) -> CheckResult:
    """The healthy "skipped" row of a check that did not run because another finding already says why
    (a missing or retyped column is one critical schema row, not one per check)."""
    return _did_not_run(check, column, reason, settings, Status.HEALTHY, skipped=True)


def not_run(check: str, column: str | None, reason: str, settings: CheckSettings | None = None) -> CheckResult:
    """The critical row for a check that could not run on a column, saying why."""
    return _did_not_run(check, column, reason, settings, Status.CRITICAL)


def _did_not_run(check: str, column: str | None, reason: str, settings: CheckSettings | None, status: Status,
                 skipped: bool = False) -> CheckResult:
    details: dict[str, Any] = {"reason": reason, "ran": False}
    if skipped:
        details["skipped"] = True
    return CheckResult(
        check=check,
        column=None if column == TABLE else column,
        status=status,
        value=None,
        warning=settings.warning if settings else None,
        critical=settings.critical if settings else None,
        details=details,
    )


def _threshold(name: str, value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or value < 0:
        raise ConfigurationError(f"{where}: {name} threshold must be a number >= 0, got {value!r}")
    return float(value)


def resolve_thresholds(
    where: str,
    defaults: tuple[float | None, float | None],
    *,
    threshold: Any = None,
    warning: Any = None,
    critical: Any = None,
) -> tuple[float | None, float | None]:
    """Resolve user thresholds against a check's defaults.

    ``threshold`` alone sets critical; warning keeps its default, lowered to critical if it would exceed
    it. Raises :class:`ConfigurationError` for negative, NaN or non-numeric values, or warning > critical.
    """
    if threshold is not None and critical is not None:
        raise ConfigurationError(f"{where}: give threshold= or critical=, not both")
    crit = _threshold("critical", critical if critical is not None else threshold, where)
    warn = _threshold("warning", warning, where)
    if crit is None:
        crit = defaults[1]
    if warn is None:
        warn = defaults[0]
        if warn is not None and crit is not None and warn > crit:
            warn = crit
    if warn is not None and crit is not None and warn > crit:
        raise ConfigurationError(f"{where}: warning threshold {warn} is above critical threshold {crit}")
    return warn, crit


def resolve_false_alarm(where: str, warning: Any = None, critical: Any = None) -> dict[str, float]:
    """Settings fields for user false-alarm levels (``false_alarm_warning=``, ``false_alarm_critical=``).

    Each must be a probability in (0, 0.5]; the warning level may not be below the critical one.
    """
    out: dict[str, float] = {}
    for name, value in (("false_alarm_warning", warning), ("false_alarm_critical", critical)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 0.5:
            raise ConfigurationError(f"{where}: {name} must be a probability in (0, 0.5], got {value!r}")
        out[name] = float(value)
    w = out.get("false_alarm_warning", FALSE_ALARM["warning"])
    c = out.get("false_alarm_critical", FALSE_ALARM["critical"])
    if w < c:
        raise ConfigurationError(f"{where}: false_alarm_warning {w} is below false_alarm_critical {c}; "
                                 "a warning must be at least as easy to raise as a critical")
    return out


def columns_arg(reference: Profile, columns: str | Iterable[str] | None, check: str) -> list[str]:
    """Normalise a ``columns`` argument (one name, a list, or ``None`` for all) and check it exists."""
    if columns is None:
        return list(reference.columns)
    names = [columns] if isinstance(columns, str) else list(columns)
    if not names:
        raise ConfigurationError(f"{check}: no columns given")
    for name in names:
        if name not in reference.columns:
            raise ConfigurationError(
                f"{check}: unknown column {name!r}; the reference has {sorted(reference.columns)}"
            )
    return names


def _excess(row: CheckResult) -> float:
    """How far past what it crossed a finding is: value / max(threshold, noise bound) of its severity.
    Findings with no number (a missing column) rank first: nothing else about the column can be judged."""
    if row.value is None:
        return math.inf
    if row.status is Status.CRITICAL:
        limit = max(row.critical or 0.0, row.details.get("noise_bound") or 0.0)
    else:
        limit = max(row.warning or 0.0, row.details.get("noise_bound_warning") or 0.0)
    return row.value / limit if limit > 0 else math.inf


def order_findings(rows: Sequence[CheckResult]) -> list[CheckResult]:
    """Critical findings first, then warnings, each the furthest past its threshold first; healthy rows
    after them in their given order (check, then column)."""
    findings = [r for r in rows if r.status is not Status.HEALTHY]
    findings.sort(key=lambda r: (-r.status.severity, -_excess(r)))  # stable: ties keep check/column order
    return findings + [r for r in rows if r.status is Status.HEALTHY]
