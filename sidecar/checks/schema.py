"""Schema check: missing, added, renamed, reordered columns and changed dtypes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidecar.checks.base import TABLE, Check, CheckSettings, register_check
from sidecar.checks.result import CheckResult, Status
from sidecar.errors import ConfigurationError
from sidecar.stats.distances import l_infinity
from sidecar.stats.noise import distance_noise
from sidecar.stats.profile import Profile

__all__ = ["RENAME_MAX_DISTANCE", "SchemaCheck", "SchemaSettings"]

#: An added column is taken for a renamed missing one when their distributions differ by at most this
#: L-infinity distance, or by no more than sampling noise (and the kinds match): two halves of one
#: 75-row sample can differ by more than 0.1.
RENAME_MAX_DISTANCE = 0.1
#: False-alarm level of the noise allowance for renames.
RENAME_FALSE_ALARM = 1e-3


class SchemaSettings(CheckSettings):
    """Severity of each kind of schema change. Missing columns and changed kinds are always critical."""

    added: Status = Status.WARNING
    reordered: Status = Status.WARNING
    dtype_changed: Status = Status.WARNING


@register_check
class SchemaCheck(Check):
    """One row per reference column (present, dtype changed, kind changed, missing or renamed), one per
    added column, and a table row when the column order changed."""

    name = "schema"
    accessor = "schema_test"
    order = 10
    options = ("added", "reordered", "dtype_changed")
    settings_model = SchemaSettings
    table_level = True
    needs_rows = False

    def configure(self, reference: Profile, columns: Sequence[str], **kwargs: Any) -> dict[str, CheckSettings]:
        try:
            return {TABLE: SchemaSettings(**kwargs)}
        except ValueError as exc:
            raise ConfigurationError(f"schema: {exc}") from exc

    def evaluate(
        self, column: str, settings: CheckSettings, reference: Profile, current: Profile
    ) -> list[CheckResult]:
        assert isinstance(settings, SchemaSettings)
        rows: list[CheckResult] = []
        renames = _renames(reference, current)
        renamed_to = {m: e for e, m in renames.items()}
        for name, ref in reference.columns.items():
            expected = ref.spec.dtype
            if name in current.type_errors:
                rows.append(self._row(name, Status.CRITICAL, "type changed: " + current.type_errors[name],
                                      expected_dtype=expected, actual_dtype=current.dtypes.get(name)))
            elif name in current.columns:
                actual = current.dtypes.get(name)
                if actual is None or actual == expected:
                    rows.append(self._row(name, Status.HEALTHY, "", expected_dtype=expected, actual_dtype=actual))
                else:
                    rows.append(self._row(name, settings.dtype_changed, f"dtype changed from {expected} to {actual}",
                                          expected_dtype=expected, actual_dtype=actual))
            elif name in renamed_to:
                reason = f"column missing; it looks renamed to {renamed_to[name]!r}"
                rows.append(self._row(name, Status.CRITICAL, reason, expected_dtype=expected,
                                      renamed_to=renamed_to[name]))
            else:
                rows.append(self._row(name, Status.CRITICAL, "column missing from the data", expected_dtype=expected))
        for extra in current.extras:
            if extra in renames:
                rows.append(self._row(extra, Status.CRITICAL, f"added column; it looks like {renames[extra]!r} renamed",
                                      actual_dtype=current.dtypes.get(extra), renamed_from=renames[extra]))
            else:
                rows.append(self._row(extra, settings.added, "column not in the contract",
                                      actual_dtype=current.dtypes.get(extra)))
        if current.order is not None and reference.order is not None:
            common = set(reference.order) & set(current.order)
            want = [c for c in reference.order if c in common]
            got = [c for c in current.order if c in common]
            if want != got:
                rows.append(self._row(TABLE, settings.reordered, "columns reordered",
                                      expected_order=want, actual_order=got))
        return rows

    def _row(self, column: str, status: Status, reason: str, **details: Any) -> CheckResult:
        if reason:
            details["reason"] = reason
        return CheckResult(check=self.name, column=None if column == TABLE else column, status=status,
                           details=details)


def _renames(reference: Profile, current: Profile) -> dict[str, str]:
    """added column -> the missing reference column it most resembles (within RENAME_MAX_DISTANCE)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for extra, candidates in current.extras.items():
        best: tuple[float, str] | None = None
        for missing, prof in candidates.items():
            if missing in taken or prof.count == 0:
                continue
            ref_counts, cur_counts = reference.columns[missing].bin_counts(), prof.bin_counts()
            d = l_infinity(ref_counts, cur_counts)
            noise = distance_noise("l-infinity", ref_counts, cur_counts, simulate=False)
            allowed = max(RENAME_MAX_DISTANCE, noise.bound(RENAME_FALSE_ALARM) if noise is not None else 0.0)
            if d <= allowed and (best is None or d < best[0]):
                best = (d, missing)
        if best is not None:
            out[extra] = best[1]
            taken.add(best[1])
    return out
