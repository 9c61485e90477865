"""``contract.<check>_test.configure(...)``: the per-check configuration handles of a contract.

A handle configures one check of a :class:`~sidecar.contract.checkset.CheckSet` and returns its owner (the
contract), so calls chain. Which handles a contract has comes from the check registry: one per registered
check, under the check's ``accessor`` name (:func:`accessors`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from sidecar.checks import CHECKS, CheckSettings, get_check
from sidecar.contract.checkset import CheckSet

__all__ = ["CheckAccessor", "CustomCheckAccessor", "accessors"]

Owner = TypeVar("Owner")


class CheckAccessor(Generic[Owner]):
    """Configures one check of one contract. Obtained as e.g. ``contract.distribution_test``."""

    def __init__(self, checks: CheckSet, check: str, owner: Owner) -> None:
        self._checks = checks
        self._name = get_check(check).name
        self._owner = owner

    @property
    def settings(self) -> dict[str, CheckSettings]:
        """Current settings per column (``"*"`` for table-level checks)."""
        return self._checks.of(self._name)

    def configure(self, columns: str | Iterable[str] | None = None, threshold: float | None = None,
                  **kwargs: Any) -> Owner:
        """Enable (or re-configure) the check on ``columns`` (all when ``None``).

        ``threshold`` sets the critical threshold; ``warning=``/``critical=`` set both explicitly;
        ``false_alarm_warning=``/``false_alarm_critical=`` set the false-alarm levels of the noise bounds
        (defaults 1e-2 and 1e-3: how often sampling noise alone may raise each severity on a feature whose
        population did not change). Other keyword arguments are the check's own (``method=``,
        ``thresholds=``, ``lower_bound=`` ...).
        Raises ``ValueError`` naming the column and the reason when the configuration cannot work.
        Returns the contract, so calls chain.
        """
        self._checks.configure(self._name, columns, threshold, **kwargs)
        return self._owner

    def disable(self, columns: str | Iterable[str] | None = None) -> Owner:
        """Stop running the check on ``columns`` (all when ``None``)."""
        self._checks.disable(self._name, columns)
        return self._owner


class CustomCheckAccessor(CheckAccessor[Owner]):
    """``contract.custom_test.configure(name, "module:function", columns=[...])``."""

    def configure(self, name: str, function: Any = None, columns: str | Iterable[str] | None = None,  # type: ignore[override]
                  threshold: float | None = None, **kwargs: Any) -> Owner:
        """Add the custom check ``name`` calling ``function(reference_profile, current_profile)`` per column."""
        self._checks.configure_named(self._name, name, function, columns, threshold, **kwargs)
        return self._owner


def accessors(checks: CheckSet, owner: Owner) -> dict[str, CheckAccessor[Owner]]:
    """One handle per registered check, by its ``accessor`` name (named checks get the custom handle)."""
    return {c.accessor: (CustomCheckAccessor if c.named else CheckAccessor)(checks, c.name, owner)
            for c in CHECKS.values()}
