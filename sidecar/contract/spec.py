"""Contract specs: a contract's checks written as a YAML/JSON document, and back.

:func:`contract_from_spec` drives the same ``contract.<check>_test.configure`` calls a Python user would
make, so every rule about what a check accepts lives in the check; the spec only adds where (the key path
and the file's line) to its error. :func:`spec_of` writes the inverse: the settings that differ from the
default checks (or, when shorter, every setting with ``defaults: false``), exact enough that
``from_spec(df, contract.to_spec())`` configures the same checks.

A spec names columns or glob patterns (``spend_*``); entries apply in file order, so a later entry for a
column re-configures what an earlier pattern set.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sidecar.checks import CheckSettings, check_names, get_check, settings_key
from sidecar.checks.callables import IN_MEMORY_PREFIX
from sidecar.contract.checkset import CheckSet
from sidecar.contract.specfile import SpecSource, read_spec
from sidecar.contract.specmodel import ContractSpec
from sidecar.errors import ConfigurationError
from sidecar.stats.noise import FALSE_ALARM

if TYPE_CHECKING:
    import os

    import pandas as pd

__all__ = ["SpecOrigin", "contract_from_spec", "spec_of"]

_PATTERN_CHARS = frozenset("*?[")
SCHEMA_SEVERITIES = ("added", "reordered", "dtype_changed")
_COMMON = ("warning", "critical", "false_alarm_warning", "false_alarm_critical")


@dataclass(frozen=True)
class SpecOrigin:
    """What a spec set that the contract file does not keep (profile options, ignored columns): they
    describe how the reference was read, not a check. The contract built from the spec holds it, so
    ``to_spec`` can write them back."""

    bins: int | None
    min_value_count: int | None
    ignore: tuple[str, ...]


class _Built(Protocol):
    """What :func:`contract_from_spec` configures: anything with a check set (a contract)."""

    checks: CheckSet


Built = TypeVar("Built", bound=_Built)


def contract_from_spec(build: Callable[..., Built], reference_df: pd.DataFrame,
                       spec: dict[str, Any] | str | os.PathLike[str], name: str | None = None,
                       ) -> tuple[Built, SpecOrigin]:
    """Build a contract with ``build(name, frame, defaults=, identifiers=, n_bins=, min_value_count=)`` from
    ``reference_df`` and configure it by ``spec`` (see :meth:`DataContract.from_spec`); with its origin."""
    src = read_spec(spec)
    model = src.validate()
    chosen = name or model.name
    if not chosen:
        raise ConfigurationError(f"{src.label}: the spec names no contract; add `name:` or pass a name")
    columns = [str(c) for c in reference_df.columns]
    ignore = model.ignore or []
    for i, col in enumerate(ignore):
        if col not in columns:
            raise src.error(("ignore", i), f"unknown column {col!r}; the reference has {sorted(columns)}")
    kept = [c for c in columns if c not in set(ignore)]
    for i, col in enumerate(model.identifiers or []):
        if col not in kept:
            raise src.error(("identifiers", i), _unknown(col, kept, ignore))
    options: dict[str, Any] = {}
    if model.profile is not None:
        if model.profile.bins is not None:
            options["n_bins"] = model.profile.bins
        if model.profile.min_value_count is not None:
            options["min_value_count"] = model.profile.min_value_count
    if model.family_wise is not None:
        options["family_wise"] = model.family_wise
    frame = reference_df.drop(columns=ignore) if ignore else reference_df
    try:
        contract = build(chosen, frame, defaults=model.defaults, identifiers=model.identifiers, **options)
    except ConfigurationError as exc:
        raise src.error(("profile",) if model.profile else (), str(exc)) from exc
    checks = contract.checks
    checks.use_rows(reference_df)  # the caller's frame, not the copy without the ignored columns
    _configure_table(checks, model, src)
    _configure_columns(checks, model, src, ignore)
    return contract, SpecOrigin(model.profile.bins if model.profile else None,
                                model.profile.min_value_count if model.profile else None, tuple(ignore))


def _configure_table(checks: CheckSet, model: ContractSpec, src: SpecSource) -> None:
    if model.table is None:
        return
    for field in model.table.model_fields_set:
        key = "schema" if field == "schema_" else field
        _apply(checks, key, None, getattr(model.table, field), src, ("table", key))


def _configure_columns(checks: CheckSet, model: ContractSpec, src: SpecSource, ignore: list[str]) -> None:
    names = checks.columns
    for pattern, entry in (model.columns or {}).items():
        if pattern in names:
            cols = [pattern]
        elif _PATTERN_CHARS & set(pattern):
            cols = [c for c in names if fnmatch.fnmatchcase(c, pattern)]
            if not cols:
                raise src.error(("columns", pattern), f"pattern {pattern!r} matches no column; "
                                f"the reference has {sorted(names)}")
        else:
            raise src.error(("columns", pattern), _unknown(pattern, names, ignore))
        for key in _in_file_order(entry.model_fields_set, src.data["columns"][pattern]):
            value = getattr(entry, key)
            path: tuple[str | int, ...] = ("columns", pattern, key)
            if get_check(key).named:  # a list of named checks (custom)
                for i, item in enumerate(value or []):
                    kwargs = _kwargs(item, skip=("name", "function"))
                    try:
                        checks.configure_named(key, item.name, item.function, columns=cols, **kwargs)
                    except ConfigurationError as exc:
                        raise src.error((*path, i), str(exc)) from exc
            else:
                _apply(checks, key, cols, value, src, path)


def _apply(checks: CheckSet, check: str, cols: list[str] | None, value: Any, src: SpecSource,
           path: tuple[str | int, ...]) -> None:
    """``false``: switch the check off; ``true`` or a mapping: configure it (``null``: leave it as is)."""
    if value is None:
        return
    try:
        if value is False:
            checks.disable(check, cols)
        elif value is True:
            checks.configure(check, cols)
        elif check == "special_values":
            checks.configure(check, cols, **_special_kwargs(value, src, path))
        else:
            checks.configure(check, cols, **_kwargs(value))
    except ConfigurationError as exc:
        raise src.error(path, str(exc)) from exc


def _kwargs(model: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    # null in a spec means "the default", the same as leaving the key out.
    return {k: v for k, v in model.model_dump(exclude_unset=True, mode="python").items()
            if v is not None and k not in skip}


def _special_kwargs(value: Any, src: SpecSource, path: tuple[str | int, ...]) -> dict[str, Any]:
    kwargs = _kwargs(value, skip=("rules",))
    if value.rules is None:
        return kwargs
    shared = sorted(kwargs.keys() & {"threshold", "warning", "critical", "values"})
    if shared:
        raise src.error(path, f"give thresholds per rule, or `values` with shared thresholds, not both ({shared})")
    thresholds: dict[Any, dict[str, Any]] = {}
    for i, rule in enumerate(value.rules):
        if any(rule.value == v and type(rule.value) is type(v) for v in thresholds):
            raise src.error((*path, "rules", i), f"value {rule.value!r} is listed twice")
        thresholds[rule.value] = _kwargs(rule, skip=("value",))
    return {**kwargs, "thresholds": thresholds}


def _in_file_order(keys: set[str], raw: Any) -> list[str]:
    order = list(raw) if isinstance(raw, dict) else []
    return sorted(keys, key=lambda k: order.index(k) if k in order else len(order))


def _unknown(col: str, names: list[str], ignore: list[str]) -> str:
    if col in ignore:
        return f"column {col!r} is listed under `ignore`"
    return f"unknown column {col!r}; the reference has {sorted(names)}"


# -- to_spec --------------------------------------------------------------------------------------------
def spec_of(name: str, checks: CheckSet, origin: SpecOrigin | None = None, *,
            family_wise: bool = True) -> dict[str, Any]:
    """The spec of contract ``name`` with ``checks`` (see :meth:`DataContract.to_spec`); ``origin``: how a
    spec read its reference, when one did; ``family_wise``: the contract's verdict setting (written only
    when it is not the default)."""
    base = CheckSet(replace(checks.reference, columns=dict(checks.reference.columns)))
    base.enable_defaults()
    with_defaults = _entries(checks.settings, base.settings)
    without = _entries(checks.settings, {})
    use_defaults = _size(with_defaults) <= _size(without)
    table, columns = with_defaults if use_defaults else without
    out: dict[str, Any] = {"name": name, "defaults": use_defaults}
    if not family_wise:
        out["family_wise"] = False
    if origin is not None:
        profile = {k: v for k, v in (("bins", origin.bins), ("min_value_count", origin.min_value_count))
                   if v is not None}
        if profile:
            out["profile"] = profile
        if origin.ignore:
            out["ignore"] = list(origin.ignore)
    out["identifiers"] = [n for n, p in checks.reference.columns.items() if p.spec.identifier]
    if table:
        out["table"] = table
    if columns:
        out["columns"] = {c: columns[c] for c in checks.columns if c in columns}
    return out


def _entries(settings: dict[str, dict[str, CheckSettings]], baseline: dict[str, dict[str, CheckSettings]],
             ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    table: dict[str, Any] = {}
    columns: dict[str, dict[str, Any]] = {}
    for check in check_names():
        now, before = settings.get(check, {}), baseline.get(check, {})
        for text in now.keys() | before.keys():
            if text in now and before.get(text) == now[text]:
                continue
            entry = _entry(check, text, now[text]) if text in now else False
            key = settings_key(check, text)
            if key.column is None:
                table[check] = entry
            elif key.name is not None:  # named checks (custom) are a list per column
                columns.setdefault(key.column, {}).setdefault(check, []).append(entry)
            else:
                columns.setdefault(key.column, {})[check] = entry
    for entry in columns.values():
        for value in entry.values():
            if isinstance(value, list):
                value.sort(key=lambda c: c["name"])
    return table, columns


def _entry(check: str, key: str, s: CheckSettings) -> dict[str, Any]:
    data = s.model_dump(mode="json")
    for field in ("method", "function"):
        if isinstance(data.get(field), str) and data[field].startswith(IN_MEMORY_PREFIX):
            raise ConfigurationError(f"cannot write a spec: {check} on {key!r} uses "
                                     f"{data[field][len(IN_MEMORY_PREFIX):]}, which has no import path; define it "
                                     "at module level or pass 'module:function'")
    # The check's own keys first, then the thresholds: the order a person reads a spec in.
    keys = [k for k in data if k not in _COMMON] + [k for k in _COMMON if k in data]
    out = {k: data[k] for k in keys if data[k] is not None and not _default_level(k, data[k])}
    if check == "schema":  # severities at their defaults go unsaid
        out = {k: v for k, v in out.items() if k not in SCHEMA_SEVERITIES or v != type(s).model_fields[k].default}
    if check == "special_values":
        out["rules"] = [{"value": r["value"], **{k: r[k] for k in ("warning", "critical") if r[k] is not None}}
                        for r in data["rules"]]
    return out


def _default_level(key: str, value: Any) -> bool:
    return key.startswith("false_alarm_") and value == FALSE_ALARM[key.removeprefix("false_alarm_")]


def _size(entries: tuple[dict[str, Any], dict[str, dict[str, Any]]]) -> int:
    table, columns = entries
    return len(table) + sum(len(e) for e in columns.values())
