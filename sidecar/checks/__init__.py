"""Checks: one module per check, each registered in :data:`~sidecar.checks.base.CHECKS`.

Every check is configured against a reference profile and evaluated on a current profile, returning
:class:`~sidecar.report.CheckResult` rows. Import order here is the order rows appear in reports.
"""

from sidecar.checks import (  # noqa: F401  (import registers)
    schema,
    row_count,
    special_values,
    min_max,
    uniqueness,
    domain,
    distribution,
    custom,
)
from sidecar.checks.base import CHECKS, Check, CheckSettings, get_check, judge, register_check

__all__ = ["CHECKS", "Check", "CheckSettings", "get_check", "judge", "register_check"]
