"""Checks: one module per check (schema, row_count, special_values, min_max, uniqueness, domain,
distribution, custom), each registered in the one registry of :mod:`~sidecar.checks.base`.

Every check is configured against a reference profile and evaluated on a current profile, returning
:class:`~sidecar.checks.result.CheckResult` rows with a :class:`~sidecar.checks.result.Status`. The registry
is the single source of which checks exist, their display order (:func:`check_names`) and the contract
attribute that configures each; :mod:`~sidecar.checks.keys` is the one type of a settings key (``"*"``,
``"column"``, ``"column::name"``), and :mod:`~sidecar.checks.callables` holds user functions by import path.
Importing this package registers every built-in check. :func:`~sidecar.checks.family.family_verdicts`
judges a report's noise-judged rows together, so the false-alarm levels hold per report.
"""

from sidecar.checks import (  # noqa: F401  (import registers)
    custom,
    distribution,
    domain,
    min_max,
    row_count,
    schema,
    special_values,
    uniqueness,
)
from sidecar.checks.base import (
    CHECKS,
    Check,
    CheckSettings,
    check_names,
    display_order,
    get_check,
    judge,
    register_check,
    settings_key,
)
from sidecar.checks.family import family_verdicts
from sidecar.checks.keys import TABLE, SettingsKey
from sidecar.checks.result import CheckResult, Status

__all__ = [
    "CHECKS",
    "TABLE",
    "Check",
    "CheckResult",
    "CheckSettings",
    "SettingsKey",
    "Status",
    "check_names",
    "display_order",
    "family_verdicts",
    "get_check",
    "judge",
    "register_check",
    "settings_key",
]
