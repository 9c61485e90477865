"""Family-wise verdicts: the false-alarm levels hold for a whole report, not for each of its tests.

A report holds a few tests per feature (missing rate, range or domain, distribution), each judged against
sampling noise. With each at 1e-2 / 1e-3 on its own, the chance that *some* test of a healthy 68-feature
report alarms is close to 1 - 0.99^200: most healthy reports would be warning. People read the report's
one badge, and an alert fires on any row, so by default the levels are shared by the report's tests:
a report whose population did not change is warning at most 1 % and critical at most 0.1 % of the time,
whatever the number of columns and checks.

Method: Holm's step-down procedure (Holm 1979) over the report's noise-judged rows. With ``K`` rows and
their raw p-values in ascending order ``p_(1) <= ... <= p_(K)``, the adjusted p-value of the ``i``-th is
``max_{j <= i} min(1, (K - j + 1) p_(j))``; a row crosses a severity's threshold only when its value is above
the effect size **and** its adjusted p-value is below the level (and its value above the noise bound at the
row's effective level, which says the same for a continuous null). Why Holm:

- it controls the family-wise error under *any* dependence between the tests. The checks of one column read
  the same rows, and columns of a real table are correlated in ways a profile cannot see (two categories
  trading share, a null rate and a range both moved by one upstream fault). Hochberg's and Hommel's
  procedures are sharper but rest on the Simes inequality (positive dependence), which nothing here
  guarantees; resampling methods (Westfall-Young) would need the rows, and a profile keeps only counts.
- it is uniformly more powerful than Bonferroni (``K p < level``) and costs one sort. The tests that
  matter most keep most of their power: a change large enough to matter at 10,000 rows has a p-value
  many orders of magnitude below ``1e-3 / K``.

Rows whose verdict is a fact (schema findings, a configured row count, checks that could not run or were
skipped, exact duplicate counts) have no p-value: they are neither adjusted nor counted in ``K``. A row's
own levels (``false_alarm_warning`` / ``false_alarm_critical`` of its check) are compared with its adjusted
p-value, so the report-level guarantee is the largest level in use (the defaults everywhere: 1e-2 / 1e-3).

Each adjusted row keeps its raw ``details["p_value"]`` and gains ``p_value_adjusted``, ``family_tests``
(``K``) and ``false_alarm_effective``: the level its raw p-value had to beat, the configured level divided by
the tests still in play at its step of the procedure (``K`` for the smallest p-value, ``K - 1`` for the
next, ...). ``noise_bound`` and ``noise_bound_warning`` are the bounds at those effective levels, so a
person reading a row sees the numbers its verdict was made with. ``family_wise=False`` on the contract
restores per-check levels (``p_value_adjusted`` then equals ``p_value`` and ``family_tests`` is 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from sidecar.report.model import CheckResult, Status
from sidecar.stats.noise import FALSE_ALARM

__all__ = ["family_verdicts", "holm"]

_SEVERITIES = ("warning", "critical")


def holm(p_values: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Holm's adjusted p-values, each p-value's rank (0 for the smallest) and, per p-value, the rank at which
    its adjusted value was set (the step of the procedure that decides it).

    >>> adjusted, rank, decided = holm([0.01, 0.04, 0.03, 0.5])
    >>> adjusted.round(4).tolist(), rank.tolist(), decided.tolist()
    ([0.04, 0.09, 0.09, 0.5], [0, 2, 1, 3], [0, 1, 1, 3])
    """
    p = np.asarray(p_values, dtype=np.float64)
    k = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (k - np.arange(k)) * p[order])
    running = np.maximum.accumulate(scaled) if k else scaled
    # Where the running maximum was last raised: the step whose p-value sets this adjusted value.
    steps = np.arange(k)
    setter = np.maximum.accumulate(np.where(scaled >= running, steps, 0)) if k else steps
    adjusted, rank, decided = np.empty(k), np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64)
    adjusted[order], rank[order], decided[order] = running, steps, setter
    return adjusted, rank, decided


def _in_family(row: CheckResult) -> bool:
    """A row judged against sampling noise: it ran, has a number and a p-value."""
    d = row.details
    return row.value is not None and "p_value" in d and not d.get("skipped") and d.get("ran", True)


def family_verdicts(rows: Sequence[CheckResult], *, family_wise: bool = True) -> list[CheckResult]:
    """The rows of one report with verdicts whose false-alarm levels hold for the whole report (Holm over
    the noise-judged rows, see the module docstring); ``family_wise=False`` keeps each check's own levels.
    Rows come back in the order given, without their null models (:attr:`CheckResult.noise_model`).

    >>> from sidecar.stats.nullmodels import ScaledChiSquare
    >>> model = ScaledChiSquare(df=1, scale=1.0)
    >>> def row(value):
    ...     r = CheckResult(check="distribution", column="x", status="critical", value=value, warning=1.0,
    ...                     critical=2.0, details={"p_value": round(model.p_value(value), 7)})
    ...     return r.with_noise_model(model)
    >>> alone, crowd = family_verdicts([row(16.0)]), family_verdicts([row(16.0)] + [row(0.5)] * 99)
    >>> alone[0].status.value, crowd[0].status.value, crowd[0].details["family_tests"]
    ('critical', 'warning', 100)
    >>> crowd[0].details["p_value"], crowd[0].details["p_value_adjusted"]
    (6.33e-05, 0.00633)
    """
    members = [i for i, r in enumerate(rows) if _in_family(r)]
    judged = set(members)
    out = [r.with_noise_model(None) if r.noise_model is not None and i not in judged else r
           for i, r in enumerate(rows)]
    if not members:
        return out
    if not family_wise:
        for i in members:
            r = rows[i]
            out[i] = r.with_noise_model(None, details={**r.details, "p_value_adjusted": r.details["p_value"],
                                                       "family_tests": 1, "false_alarm_effective": _levels(r)})
        return out
    raw = [_raw_p(rows[i]) for i in members]
    adjusted, rank, decided = holm(raw)
    k = len(members)
    for i, p_adj, r_i, d_i in zip(members, adjusted, rank, decided, strict=True):
        out[i] = _rejudge(rows[i], float(p_adj), k, int(r_i), int(d_i))
    return out


def _raw_p(row: CheckResult) -> float:
    """The row's raw p-value as reported (six significant digits: ample for ranking and scaling; asking the
    null model again would redo the exact tail sums of far-out counts)."""
    return float(row.details["p_value"])


def _levels(row: CheckResult) -> dict[str, float]:
    configured = row.details.get("false_alarm") or {}
    return {s: float(configured.get(s, FALSE_ALARM[s])) for s in _SEVERITIES}


def _rejudge(row: CheckResult, p_adj: float, k: int, rank: int, decided: int) -> CheckResult:
    """``row`` judged at its levels shared by ``k`` tests; ``rank`` of its p-value (0: smallest), ``decided``:
    the step whose p-value set its adjusted value."""
    assert row.value is not None
    value = row.value
    levels = _levels(row)
    model = row.noise_model
    effective: dict[str, float] = {}
    bounds: dict[str, float] = {}
    crossed: dict[str, bool] = {}
    for severity in _SEVERITIES:
        level = levels[severity]
        passed = p_adj < level
        # Passed: its own step divides the level by the tests left there (its raw p-value is below that).
        # Not passed: the step that set its adjusted value did (its raw p-value is at or above that).
        effective[severity] = level / (k - (rank if passed else decided))
        key = "noise_bound" if severity == "critical" else "noise_bound_warning"
        bound = model.bound(effective[severity]) if model is not None else row.details.get(key)
        bounds[severity] = -math.inf if bound is None else float(bound)
        threshold = row.critical if severity == "critical" else row.warning
        crossed[severity] = threshold is not None and value > threshold and value > bounds[severity] and passed
    status = Status.CRITICAL if crossed["critical"] else Status.WARNING if crossed["warning"] else Status.HEALTHY
    status = max(status, Status(row.details.get("at_least", Status.HEALTHY.value)))
    details: dict[str, Any] = {
        **row.details,
        "noise_bound": _round(bounds["critical"]),
        "noise_bound_warning": _round(bounds["warning"]),
        "p_value_adjusted": _round(p_adj),
        "family_tests": k,
        "false_alarm_effective": {s: _round(v) for s, v in effective.items()},
    }
    return row.with_noise_model(None, status=status, details=details)


def _round(x: float) -> float:
    """Six significant digits, as :func:`sidecar.stats.noise.noise_details` writes them."""
    return float(f"{x:.6g}") if math.isfinite(x) else x
