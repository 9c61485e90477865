"""``contract.<check>_test.configure(...)``: the per-check configuration handles of a DataContract."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sidecar.checks.base import TABLE, CheckSettings, columns_arg, get_check, resolve_false_alarm

if TYPE_CHECKING:
    from sidecar.contract.datacontract import DataContract

__all__ = ["CheckAccessor", "CustomCheckAccessor"]


class CheckAccessor:
    """Configures one check of one contract. Obtained as e.g. ``contract.distribution_test``."""

    def __init__(self, contract: DataContract, check: str) -> None:
        self._contract = contract
        self._check = get_check(check)

    @property
    def settings(self) -> dict[str, CheckSettings]:
        """Current settings per column (``"*"`` for table-level checks)."""
        return dict(self._contract._settings.get(self._check.name, {}))

    def configure(self, columns: str | Iterable[str] | None = None, threshold: float | None = None,
                  **kwargs: Any) -> DataContract:
        """Enable (or re-configure) the check on ``columns`` (all when ``None``).

        ``threshold`` sets the critical threshold; ``warning=``/``critical=`` set both explicitly;
        ``false_alarm_warning=``/``false_alarm_critical=`` set the false-alarm levels of the noise bounds
        (defaults 1e-2 and 1e-3: how often sampling noise alone may raise each severity on a feature whose
        population did not change). Other keyword arguments are the check's own (``method=``,
        ``thresholds=``, ``lower_bound=`` ...).
        Raises ``ValueError`` naming the column and the reason when the configuration cannot work.
        Returns the contract, so calls chain.
        """
        if threshold is not None:
            kwargs["threshold"] = threshold
        self._check.reject_unknown(kwargs)
        levels = _false_alarm(self._check.name, kwargs)
        cols = [] if self._check.table_level else columns_arg(self._contract.reference, columns, self._check.name)
        new = self._check.configure(self._contract.reference, cols, **kwargs)
        self._contract._apply(self._check.name, {k: with_false_alarm(s, levels) for k, s in new.items()})
        return self._contract

    def disable(self, columns: str | Iterable[str] | None = None) -> DataContract:
        """Stop running the check on ``columns`` (all when ``None``)."""
        current = self._contract._settings.get(self._check.name, {})
        if columns is None:
            drop = set(current)
        else:
            names = {columns} if isinstance(columns, str) else set(columns)
            drop = {k for k, s in current.items() if _column_of(k, s) in names}
        self._contract._apply(self._check.name, {}, drop=drop)
        return self._contract


class CustomCheckAccessor(CheckAccessor):
    """``contract.custom_test.configure(name, "module:function", columns=[...])``."""

    def configure(self, name: str, function: Any = None, columns: str | Iterable[str] | None = None,  # type: ignore[override]
                  threshold: float | None = None, **kwargs: Any) -> DataContract:
        """Add the custom check ``name`` calling ``function(reference_profile, current_profile)`` per column."""
        if threshold is not None:
            kwargs["threshold"] = threshold
        self._check.reject_unknown(kwargs)
        _false_alarm("custom", kwargs)  # custom checks judge themselves; the levels are accepted, unused
        cols = columns_arg(self._contract.reference, columns, "custom")
        new = self._check.configure(self._contract.reference, cols, name=name, function=function, **kwargs)
        self._contract._apply("custom", {f"{c}{_SEP}{name}": s for c, s in new.items()})
        return self._contract


_SEP = "::"


def _false_alarm(check: str, kwargs: dict[str, Any]) -> dict[str, float]:
    return resolve_false_alarm(check, kwargs.pop("false_alarm_warning", None),
                               kwargs.pop("false_alarm_critical", None))


def with_false_alarm(settings: CheckSettings, levels: dict[str, float]) -> CheckSettings:
    """``settings`` (and its per-value rules, for special values) with the false-alarm levels applied."""
    if not levels:
        return settings
    rules = getattr(settings, "rules", None)
    update: dict[str, Any] = dict(levels)
    if rules is not None:
        update["rules"] = tuple(r.model_copy(update=levels) for r in rules)
    return settings.model_copy(update=update)


def _column_of(key: str, settings: CheckSettings) -> str:
    return key.split(_SEP, 1)[0] if key != TABLE else TABLE
