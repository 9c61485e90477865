"""JSON-able dicts for column specs and profiles (used by contract files and reports).

Categories keep their JSON type, so ``1`` and ``"1"`` stay different categories after a round trip.
NaN/inf never reach JSON: missing minima are written as ``null``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sidecar.stats.column import ColumnProfile
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.sketch import HyperLogLog
from sidecar.stats.spec import ColumnSpec

__all__ = ["column_from_dict", "column_to_dict", "spec_from_dict", "spec_to_dict"]


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _float(x: float | None) -> float:
    return math.nan if x is None else float(x)


def spec_to_dict(spec: ColumnSpec) -> dict[str, Any]:
    """JSON-able form of a :class:`ColumnSpec`."""
    out: dict[str, Any] = {"name": spec.name, "kind": spec.kind.value, "dtype": spec.dtype}
    if spec.is_numeric:
        out["edges"] = list(spec.edges)
    else:
        out["categories"] = list(spec.categories)
    out["special_values"] = list(spec.special_values)
    out["lower"], out["upper"] = spec.lower, spec.upper
    if not spec.distinct:  # written only when off, so reference profiles (always on) read as before
        out["distinct"] = False
    if spec.identifier:
        out["identifier"] = True
    return out


def spec_from_dict(d: dict[str, Any]) -> ColumnSpec:
    """Inverse of :func:`spec_to_dict`."""
    return ColumnSpec(
        name=d["name"],
        kind=ColumnKind(d["kind"]),
        dtype=d["dtype"],
        edges=tuple(float(e) for e in d.get("edges") or ()),
        categories=tuple(d.get("categories") or ()),
        special_values=tuple(d.get("special_values") or ()),
        lower=d.get("lower"),
        upper=d.get("upper"),
        distinct=bool(d.get("distinct", True)),
        identifier=bool(d.get("identifier", False)),
    )


def column_to_dict(p: ColumnProfile) -> dict[str, Any]:
    """JSON-able form of a :class:`ColumnProfile` (spec included)."""
    out: dict[str, Any] = {
        "spec": spec_to_dict(p.spec),
        "count": p.count,
        "nulls": p.nulls,
        "special": p.special.tolist(),
        "min": _num(p.minimum),
        "max": _num(p.maximum),
        "below": p.below,
        "above": p.above,
        "hll": p.hll.to_str(),
    }
    if p.spec.is_numeric:
        out["hist"] = p.hist.tolist()
    else:
        out["categories"] = [[k, v] for k, v in p.categories.items()]
        out["other"] = p.other
        if p.singletons:
            out["singletons"] = p.singletons
        if p.domain_hashes is not None:
            out["domain_hashes"] = sorted(p.domain_hashes)
    return out


def column_from_dict(d: dict[str, Any]) -> ColumnProfile:
    """Inverse of :func:`column_to_dict`."""
    spec = spec_from_dict(d["spec"])
    prof = ColumnProfile.empty(spec)
    prof.count, prof.nulls = int(d["count"]), int(d["nulls"])
    prof.special = np.asarray(d["special"], dtype=np.int64)
    prof.minimum, prof.maximum = _float(d["min"]), _float(d["max"])
    prof.below, prof.above = int(d.get("below", 0)), int(d.get("above", 0))
    prof.hll = HyperLogLog.from_str(d["hll"])
    if spec.is_numeric:
        prof.hist = np.asarray(d["hist"], dtype=np.int64)
    else:
        prof.categories = {k: int(v) for k, v in d["categories"]}
        prof.other = int(d.get("other", 0))
        prof.singletons = int(d.get("singletons", 0))
        hashes = d.get("domain_hashes")
        prof.domain_hashes = frozenset(hashes) if hashes is not None else None
    return prof
