"""Checks: one module per check, each registered in :data:`~sidecar.checks.base.CHECKS`.

Every check is configured against a reference profile and evaluated on a current profile, returning
:class:`~sidecar.report.model.CheckResult` rows; :func:`~sidecar.checks.family.family_verdicts` then judges a
report's noise-judged rows together, so the false-alarm levels hold per report. Import order here is the
order rows appear in reports.
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
from sidecar.checks.base import CHECKS, Check, CheckSettings, get_check, judge, register_check
from sidecar.checks.family import family_verdicts

__all__ = ["CHECKS", "Check", "CheckSettings", "family_verdicts", "get_check", "judge", "register_check"]
