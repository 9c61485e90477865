"""What changed between two contracts: columns, checks and settings, and how far the references drifted.

``new.diff(old)`` (and ``sidecar contract diff``) answers the reviewer's questions about a new contract
version: which columns appeared, vanished or changed type; which checks were switched on or off and which
thresholds moved; and whether the new reference data would have passed the old contract's distribution
check. For that last one the new reference is judged as *current* data by the old contract, with the old
contract's method, thresholds and noise bounds (the check's own machinery, not a copy of it).

The two references were binned on their own quantile edges; the new one is re-binned onto the old edges
by linear interpolation of its histogram's cumulative counts (exact where the edges coincide, which is
the common case for unchanged data; within one bin's width otherwise). Categories are matched by value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from sidecar.checks import CheckSettings, display_order, get_check, settings_key
from sidecar.contract.checkset import CheckSet
from sidecar.stats.column import ColumnProfile, ColumnSpec
from sidecar.stats.profile import Profile

__all__ = ["ColumnChange", "Compared", "ContractDiff", "ReferenceDrift", "SettingChange", "diff_contracts"]


class Compared(Protocol):
    """What a diff reads of a contract: its identity and its check set (a
    :class:`~sidecar.contract.datacontract.DataContract` is one)."""

    name: str
    version: int | None
    sha256: str | None
    checks: CheckSet
    family_wise: bool


@dataclass(frozen=True)
class ColumnChange:
    """A column ``"added"``, ``"removed"`` or ``"retyped"``; before/after read ``"numeric (float64)"``."""

    column: str
    change: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class SettingChange:
    """A check ``"added"``, ``"removed"`` or ``"changed"`` on a column (``None``: the table); for a change,
    ``setting`` names the field (``"critical"``, ``"rules[missing].critical"``) and before/after its values.
    Contract-level settings are changes of the check ``"contract"`` (``setting="family_wise"``)."""

    check: str
    column: str | None
    change: str
    setting: str | None = None
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class ReferenceDrift:
    """The distance between the two references on one column, judged by the old contract's check.

    ``status`` is ``"healthy"``, ``"warning"``, ``"critical"``, or ``"skipped"`` with the reason in ``note``.
    """

    column: str
    method: str | None
    distance: float | None
    status: str
    warning: float | None = None
    critical: float | None = None
    noise_bound: float | None = None
    p_value: float | None = None
    note: str = ""


@dataclass(frozen=True)
class ContractDiff:
    """The differences from contract ``before`` (older) to ``after`` (newer).

    ``str(diff)`` is a readable table; :meth:`to_dict` / :meth:`to_json` the same content as data.
    """

    before: dict[str, Any]
    after: dict[str, Any]
    columns: tuple[ColumnChange, ...]
    checks: tuple[SettingChange, ...]
    drift: tuple[ReferenceDrift, ...]

    @property
    def changed(self) -> bool:
        """True when a column or a check setting changed (reference drift alone does not count)."""
        return bool(self.columns or self.checks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: ``before``, ``after``, ``columns``, ``checks``, ``drift``."""
        return {"before": dict(self.before), "after": dict(self.after),
                "columns": [asdict(c) for c in self.columns], "checks": [asdict(c) for c in self.checks],
                "drift": [asdict(d) for d in self.drift]}

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def __str__(self) -> str:
        b, a = self.before, self.after
        lines = [f"Contract {_label(b)} -> {_label(a)}",
                 f"  reference rows: {b['reference_rows']:,} -> {a['reference_rows']:,}", "", "Columns"]
        if self.columns:
            lines += _table([("change", "column", "before", "after")]
                            + [(c.change, c.column, c.before or "-", c.after or "-") for c in self.columns])
        else:
            lines.append("  no column added, removed or retyped")
        lines += ["", "Checks"]
        if self.checks:
            lines += _table([("change", "check", "column", "setting", "before", "after")]
                            + [(c.change, c.check, c.column or "(table)", c.setting or "-", _cell(c.before),
                                _cell(c.after)) for c in self.checks])
        else:
            lines.append("  no check or setting changed")
        lines += ["", f"Reference drift ({_label(a)}'s reference judged by {_label(b)}'s distribution check)"]
        if self.drift:
            lines += _table([("column", "method", "distance", "warning", "critical", "noise bound", "status")]
                            + [(d.column, d.method or "-", _cell(d.distance), _cell(d.warning), _cell(d.critical),
                                _cell(d.noise_bound), d.status + (f" ({d.note})" if d.note else ""))
                               for d in self.drift])
        else:
            lines.append("  no column in common")
        return "\n".join(lines)


def diff_contracts(before: Compared, after: Compared) -> ContractDiff:
    """The :class:`ContractDiff` from ``before`` to ``after``."""
    old, new = before.checks, after.checks
    changes = _setting_changes(old, new)
    if before.family_wise != after.family_wise:  # how every noise-judged verdict is made
        changes.insert(0, SettingChange("contract", None, "changed", "family_wise", before.family_wise,
                                        after.family_wise))
    return ContractDiff(before=_identity(before), after=_identity(after), columns=tuple(_column_changes(old, new)),
                        checks=tuple(changes), drift=tuple(_drift(old, new)))


def _identity(c: Compared) -> dict[str, Any]:
    return {"name": c.name, "version": c.version, "sha256": c.sha256, "reference_rows": c.checks.reference.n_rows}


def _label(identity: dict[str, Any]) -> str:
    return identity["name"] + (f" v{identity['version']}" if identity["version"] else " (unsaved)")


def _kind(spec: ColumnSpec) -> str:
    return f"{spec.kind.value} ({spec.dtype}{', identifier' if spec.identifier else ''})"


def _column_changes(before: CheckSet, after: CheckSet) -> list[ColumnChange]:
    old, new = before.reference.columns, after.reference.columns
    out = [ColumnChange(c, "removed", _kind(old[c].spec), None) for c in old if c not in new]
    out += [ColumnChange(c, "added", None, _kind(new[c].spec)) for c in new if c not in old]
    out += [ColumnChange(c, "retyped", _kind(old[c].spec), _kind(new[c].spec)) for c in new
            if c in old and _kind(old[c].spec) != _kind(new[c].spec)]
    return out


def _setting_changes(before: CheckSet, after: CheckSet) -> list[SettingChange]:
    old, new = before.settings, after.settings
    position = {c: i for i, c in enumerate([*before.columns, *after.columns])}
    out: list[SettingChange] = []
    for check in sorted(old.keys() | new.keys(), key=display_order):
        o, n = old.get(check, {}), new.get(check, {})
        keys = {k: settings_key(check, k) for k in o.keys() | n.keys()}
        for key in sorted(keys, key=lambda k: keys[k].sort_key(position)):
            column, setting = keys[key].column, keys[key].name  # setting: a named (custom) check's name
            if key not in o:
                out.append(SettingChange(check, column, "added", setting, None, _dump(n[key])))
            elif key not in n:
                out.append(SettingChange(check, column, "removed", setting, _dump(o[key]), None))
            else:
                fo, fn = _flat(_dump(o[key])), _flat(_dump(n[key]))
                for field in sorted(fo.keys() | fn.keys()):
                    if fo.get(field) != fn.get(field):
                        name = f"{setting}.{field}" if setting else field
                        out.append(SettingChange(check, column, "changed", name, fo.get(field), fn.get(field)))
    return out


def _dump(s: CheckSettings) -> dict[str, Any]:
    return s.model_dump(mode="json")


def _flat(d: dict[str, Any]) -> dict[str, Any]:
    """``{"rules": [{"value": None, "critical": 0.1}]}`` -> ``{"rules[missing].critical": 0.1}``."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        if key == "rules" and isinstance(value, list):
            for rule in value:
                label = "missing" if rule.get("value") is None else repr(rule["value"])
                out.update({f"rules[{label}].{k}": v for k, v in rule.items() if k != "value"})
        else:
            out[key] = value
    return out


def _drift(before: CheckSet, after: CheckSet) -> list[ReferenceDrift]:
    check = get_check("distribution")
    out = []
    for column, base in before.reference.columns.items():
        new = after.reference.columns.get(column)
        if new is None:
            continue
        if new.spec.kind is not base.spec.kind:
            out.append(ReferenceDrift(column, None, None, "skipped", note="retyped"))
            continue
        if base.spec.identifier or new.spec.identifier:
            out.append(ReferenceDrift(column, None, None, "skipped", note="identifier"))
            continue
        settings = before.settings.get("distribution", {}).get(column) or \
            after.settings.get("distribution", {}).get(column)
        try:
            if settings is None:
                settings = check.configure(before.reference, [column])[column]
            cur = _rebin(new, base.spec)
            (row,) = check.evaluate(column, settings, before.reference, Profile(columns={column: cur}))
        except Exception as exc:  # an identifier, or a custom distance that fails: say so, keep the rest
            out.append(ReferenceDrift(column, getattr(settings, "method", None), None, "skipped",
                                      note=str(exc).split(";")[0]))
            continue
        d = row.details
        skipped = bool(d.get("skipped") or d.get("ran") is False)
        out.append(ReferenceDrift(column, d.get("method", getattr(settings, "method", None)), _num(row.value),
                                  "skipped" if skipped else row.status.value, row.warning, row.critical,
                                  _num(d.get("noise_bound")), _num(d.get("p_value")), d.get("reason", "")))
    return out


def _rebin(prof: ColumnProfile, spec: ColumnSpec) -> ColumnProfile:
    """``prof``'s counts in the layout of ``spec`` (another reference's bins of the same column)."""
    if not spec.is_numeric:
        return ColumnProfile(spec=spec, count=prof.count, nulls=prof.nulls, categories=dict(prof.categories),
                             other=prof.other)
    if tuple(prof.spec.edges) == tuple(spec.edges):
        hist = prof.hist.copy()
    else:
        present = prof.count - prof.nulls
        src, dst = np.asarray(prof.spec.edges, dtype=np.float64), np.asarray(spec.edges, dtype=np.float64)
        if len(src) < 2 or len(dst) < 2:
            raise ValueError("no bins to compare (an all-missing column)")
        # Cumulative count at each source edge: underflow below the first, overflow above the last.
        cum = prof.hist[0] + np.concatenate([[0], np.cumsum(prof.hist[1:len(src)])])
        for i in range(1, len(src)):  # a constant column has equal edges; interpolation needs them increasing
            if src[i] <= src[i - 1]:
                src[i] = np.nextafter(src[i - 1], np.inf)
        at = np.interp(dst, src, cum.astype(np.float64), left=0.0, right=float(present))
        shares = np.concatenate([[at[0]], np.diff(at), [present - at[-1]]])
        if dst[0] < dst[-1]:
            # Spread uniformly, a wide tail bin would put mass past the old extremes that the data may not
            # have; how far new values reach is the range check's question, so the tails count in the
            # outermost bins (the old reference has nothing beyond its own extremes anyway).
            shares[1] += shares[0]
            shares[-2] += shares[-1]
            shares[0] = shares[-1] = 0.0
        hist = np.append(_whole(np.clip(shares, 0.0, None), present), prof.nulls)
    return ColumnProfile(spec=spec, count=prof.count, nulls=prof.nulls, hist=hist.astype(np.int64),
                         minimum=prof.minimum, maximum=prof.maximum)


def _whole(x: np.ndarray, total: int) -> np.ndarray:
    """Round ``x`` to whole counts summing to ``total`` (largest remainders get the leftover rows)."""
    scaled = x * (total / x.sum()) if x.sum() > 0 else x
    out = np.floor(scaled).astype(np.int64)
    short = total - int(out.sum())
    if short > 0:
        out[np.argsort(-(scaled - out), kind="stable")[:short]] += 1
    return out


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _cell(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, list | dict):
        return json.dumps(x) if len(json.dumps(x)) <= 40 else json.dumps(x)[:37] + "..."
    return str(x)


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
