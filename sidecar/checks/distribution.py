"""Distribution drift check: a distance between the reference and current binned distributions.

A distance is judged against its effect-size thresholds and against its sampling noise for the two sample
sizes and the bins in use (:mod:`sidecar.stats.noise`); a custom distance gets its noise from the same
simulation as the registered ones, called draw by draw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from typing import Any

import numpy as np

from sidecar.checks.base import CheckSettings, ColumnCheck, register_check, resolve_thresholds
from sidecar.checks.callables import HoldsCallable, load_callable, reference_for
from sidecar.checks.result import CheckResult
from sidecar.errors import ConfigurationError
from sidecar.stats.column import ColumnProfile
from sidecar.stats.distances import ORDERED_ONLY, resolve_distance
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.noise import LEVEL_FLOOR, distance_noise, selection_corrected
from sidecar.stats.nullmodels import NullModel
from sidecar.stats.profile import Profile

__all__ = ["DEFAULTS", "DEFAULT_METHOD", "DistributionCheck", "DistributionSettings", "bin_labels"]

#: Default method per column family: PSI for numbers (the industry's usual 0.1/0.25 bands), L-infinity for
#: categories (bounded in [0, 1] and not inflated by many rare categories).
DEFAULT_METHOD = {"numeric": "psi", "categorical": "l-infinity"}

#: (warning, critical) effect sizes per method; custom callables have no default and need thresholds.
#: Chosen so that on 20 reference-quantile bins a mean shift of 0.25 sd is a warning and 0.5 sd is
#: critical (binned PSI 0.063 and 0.245, KS 0.10 and 0.20, JS 0.11 and 0.21, Wasserstein 0.063 and
#: 0.125), and a category whose share moves by 10 points is critical. Small samples are protected by the
#: noise bound, not by high thresholds.
DEFAULTS: dict[str, tuple[float | None, float | None]] = {
    "l-infinity": (0.04, 0.06),
    "psi": (0.05, 0.2),
    "jensen-shannon": (0.05, 0.15),
    "ks": (0.05, 0.15),
    "wasserstein": (0.03, 0.1),
    "custom": (None, None),
}


#: A value this many times its closed-form noise bound at :data:`~sidecar.stats.noise.LEVEL_FLOOR` is beyond
#: noise however sparse the bins and however many tests share the report's level.
CLEAR_MARGIN = 2.0


class DistributionSettings(CheckSettings, HoldsCallable):
    """``method`` is a registered name or ``"module:function"`` for a custom distance."""

    method: str


@register_check
class DistributionCheck(ColumnCheck):
    """Value = the configured distance; details hold both distributions' bin shares for the dashboard."""

    name = "distribution"
    accessor = "distribution_test"
    order = 70
    options = ("method",)
    settings_model = DistributionSettings

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        method = kwargs.pop("method", None)
        out: dict[str, CheckSettings] = {}
        for c in columns:
            spec = reference.columns[c].spec
            if spec.identifier:
                raise ConfigurationError(
                    f"distribution: column {c!r} is an identifier (every reference value unique); its values "
                    "are not stored and new ids are not drift"
                )
            family = "numeric" if spec.is_numeric else "categorical"
            chosen = method if method is not None else DEFAULT_METHOD[family]
            held = None
            if callable(chosen):
                name, held = reference_for(chosen), chosen
                defaults = DEFAULTS["custom"]
            elif isinstance(chosen, str) and ":" in chosen:
                load_callable(chosen)  # fail now, not at validate
                name, defaults = chosen, DEFAULTS["custom"]
            else:
                name, _ = resolve_distance(chosen)
                if name in ORDERED_ONLY and not spec.is_numeric:
                    raise ConfigurationError(
                        f"distribution: method {name!r} needs ordered values; column {c!r} is {spec.kind.value}"
                    )
                defaults = DEFAULTS.get(name, DEFAULTS["custom"])
            warn, crit = resolve_thresholds(f"distribution column {c!r}", defaults, **kwargs)
            out[c] = DistributionSettings(warning=warn, critical=crit, method=name).holding(held)
        return out

    def distance(self, settings: DistributionSettings) -> Callable[[np.ndarray, np.ndarray], float]:
        """The function behind the settings' method: a registered distance, or a custom one (held by the
        settings, else imported by path)."""
        if ":" in settings.method:
            return settings.target(settings.method)
        return resolve_distance(settings.method)[1]

    def evaluate_column(
        self, column: str, settings: CheckSettings, ref: ColumnProfile, cur: ColumnProfile, current: Profile
    ) -> list[CheckResult]:
        assert isinstance(settings, DistributionSettings)
        ref_counts, cur_counts = ref.bin_counts(), cur.bin_counts()
        fn = self.distance(settings)
        value = float(fn(ref_counts, cur_counts))
        population = None if ref.spec.is_numeric else selection_corrected(ref_counts, len(ref.spec.categories))
        noise, how = self._noise(settings, value, ref_counts, cur_counts, fn, population)
        return [self.row(column, value, settings, noise, method=settings.method, noise_method=how,
                         bins=bin_labels(ref),
                         reference=_shares(ref_counts), current=_shares(cur_counts),
                         reference_rows=int(ref_counts.sum()), current_rows=int(cur_counts.sum()))]

    @staticmethod
    def _noise(settings: DistributionSettings, value: float, ref_counts: np.ndarray, cur_counts: np.ndarray,
               fn: Callable[[np.ndarray, np.ndarray], float],
               population: np.ndarray | None = None) -> tuple[NullModel | None, str]:
        """The null model a verdict uses, and how it was obtained.

        The simulated null is exact but costs a few milliseconds a column; the closed form (chi-square, KS,
        normal) is instant and close, though optimistic on sparse bins by up to about a third of the bound.
        The simulation only runs where it can change the verdict: for a value above the warning threshold
        and within twice the closed-form bound at the smallest level a family-wise verdict uses
        (:data:`~sidecar.stats.noise.LEVEL_FLOOR`). Far past it (a real drift in a large sample) or below the
        threshold, the closed form is reported. Category columns draw the null's shares from the reference
        corrected for which categories it tracks (:func:`~sidecar.stats.noise.selection_corrected`).
        """
        closed = distance_noise(settings.method, ref_counts, cur_counts, fn, simulate=False)
        above = settings.warning is None or value > settings.warning
        level = min(settings.false_alarm_critical, LEVEL_FLOOR)
        if above and (closed is None or value <= CLEAR_MARGIN * closed.bound(level)):
            simulated = distance_noise(settings.method, ref_counts, cur_counts, fn, simulate=True,
                                       population=population)
            return simulated, "simulated" if simulated is not None else "none"
        return closed, "closed form" if closed is not None else "none"


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [round(float(x), 6) for x in (counts / total if total else counts.astype(float))]


def bin_labels(profile: ColumnProfile) -> list[str]:
    """Human-readable names of the comparison bins (for reports and the dashboard)."""
    spec = profile.spec
    if spec.is_numeric:
        e = spec.edges
        # Datetime edges are epoch seconds; a person reads dates.
        f = _date_label if spec.kind is ColumnKind.DATETIME else (lambda x: f"{x:.4g}")
        inner = [f"[{f(e[i])}, {f(e[i + 1])}{']' if i == len(e) - 2 else ')'}" for i in range(len(e) - 1)]
        if len(e) == 2 and e[0] == e[1]:
            inner = [f(e[0])]
        return [f"< {f(e[0])}", *inner, f"> {f(e[-1])}", "missing"]
    return [str(c) for c in spec.categories] + ["other", "missing"]


def _date_label(epoch_seconds: float) -> str:
    """``2024-03-01`` at midnight, ``2024-03-01 12:30`` otherwise (UTC)."""
    ts = datetime.fromtimestamp(epoch_seconds, UTC)
    return ts.strftime("%Y-%m-%d") if ts.time() == time(0) else ts.strftime("%Y-%m-%d %H:%M")
