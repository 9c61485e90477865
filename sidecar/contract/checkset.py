"""A contract's check set: which checks run, with which settings per key, against the reference profile
they were configured on.

This is the part of a contract that the configuration handles (:mod:`~sidecar.contract.accessor`), specs
(:mod:`~sidecar.contract.spec`) and diffs (:mod:`~sidecar.contract.diff`) work on, so none of them needs
:class:`~sidecar.contract.datacontract.DataContract` itself: it configures checks (validating against the
reference), runs them on a current profile, and reads and writes the ``checks`` of a contract file.

The set keeps no reference rows. Adding a special value the reference profile does not count yet needs
them, so it holds a *weak* reference to the frame the contract was learned from: while the caller still
holds that frame, new values are counted on it; once the caller lets it go, it is freed and only values the
profile tracks can be re-thresholded (as on a loaded contract).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from sidecar.checks import check_names, get_check, settings_key
from sidecar.checks.base import CheckSettings, columns_arg, not_run, order_findings, resolve_false_alarm
from sidecar.checks.callables import IN_MEMORY_PREFIX
from sidecar.checks.family import family_verdicts
from sidecar.checks.keys import TABLE, SettingsKey
from sidecar.checks.result import CheckResult
from sidecar.checks.row_count import RowCountSettings
from sidecar.checks.special_values import SpecialValueSettings
from sidecar.errors import ConfigurationError
from sidecar.stats.column import ColumnSpec
from sidecar.stats.convert import to_float_array
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.profile import Profile

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CheckSet"]

Settings = dict[str, dict[str, CheckSettings]]


class CheckSet:
    """Per check, the settings of each key (``"*"``, a column, ``"column::name"``; see
    :class:`~sidecar.checks.keys.SettingsKey`), configured against ``reference``.

    Parameters
    ----------
    reference : the reference profile (special values added later are counted into it)
    rows : the frame ``reference`` was profiled from, held weakly (see the module docstring)
    on_change : called after every change of the settings (a contract forgets its saved version)
    """

    def __init__(self, reference: Profile, rows: pd.DataFrame | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self.reference = reference
        self._settings: Settings = {}
        self._rows: weakref.ref[pd.DataFrame] | None = None
        self._on_change = on_change
        if rows is not None:
            self.use_rows(rows)

    def use_rows(self, frame: pd.DataFrame) -> None:
        """Count special values added later on ``frame`` (held weakly) while its owner keeps it."""
        self._rows = weakref.ref(frame)

    @property
    def columns(self) -> list[str]:
        """Reference column names, in order."""
        return list(self.reference.columns)

    @property
    def settings(self) -> Settings:
        """check -> key -> settings (a copy)."""
        return {k: dict(v) for k, v in self._settings.items()}

    def of(self, check: str) -> dict[str, CheckSettings]:
        """The settings of one check by key (a copy; empty when it does not run)."""
        return dict(self._settings.get(check, {}))

    def items(self) -> Iterator[tuple[str, SettingsKey, CheckSettings]]:
        """``(check, key, settings)`` in display order: checks as the registry orders them, keys in the
        reference's column order whatever order they were configured or stored in."""
        position = {name: i for i, name in enumerate(self.reference.columns)}
        for check in check_names():
            configured = self._settings.get(check, {})
            keys = {k: settings_key(check, k) for k in configured}
            for text in sorted(configured, key=lambda k: keys[k].sort_key(position)):
                yield check, keys[text], configured[text]

    # -- configuration ----------------------------------------------------------------------------------
    def configure(self, check: str, columns: str | Iterable[str] | None = None, threshold: float | None = None,
                  **kwargs: Any) -> None:
        """Enable (or re-configure) ``check`` on ``columns`` (all when ``None``; table checks take none).

        See :meth:`sidecar.contract.accessor.CheckAccessor.configure` for the keywords. Raises
        :class:`ConfigurationError` naming the column and the reason.
        """
        found = get_check(check)
        if threshold is not None:
            kwargs["threshold"] = threshold
        found.reject_unknown(kwargs)
        levels = _false_alarm(check, kwargs)
        cols = [] if found.table_level else columns_arg(self.reference, columns, check)
        new = found.configure(self.reference, cols, **kwargs)
        self._apply(check, {k: _with_false_alarm(s, levels) for k, s in new.items()})

    def configure_named(self, check: str, name: str, function: Any = None, columns: str | Iterable[str] | None = None,
                        threshold: float | None = None, **kwargs: Any) -> None:
        """Add the named check ``name`` of ``check`` (custom checks) on ``columns``, keyed ``column::name``."""
        found = get_check(check)
        if threshold is not None:
            kwargs["threshold"] = threshold
        found.reject_unknown(kwargs)
        _false_alarm(check, kwargs)  # named checks judge themselves: the levels are accepted, unused
        cols = columns_arg(self.reference, columns, check)
        new = found.configure(self.reference, cols, name=name, function=function, **kwargs)
        self._apply(check, {str(SettingsKey(c, name)): s for c, s in new.items()})

    def disable(self, check: str, columns: str | Iterable[str] | None = None) -> None:
        """Stop running ``check`` on ``columns`` (all when ``None``)."""
        current = self._settings.get(get_check(check).name, {})
        if columns is None:
            drop = set(current)
        else:
            names = {columns} if isinstance(columns, str) else set(columns)
            drop = {k for k in current if settings_key(check, k).feature in names}
        self._apply(check, {}, drop=drop)

    def enable_defaults(self) -> None:
        """The default checks (see :class:`~sidecar.contract.datacontract.DataContract`)."""
        self.configure("schema")
        self.configure("row_count")
        self.configure("special_values")
        for check, columns in zip(("min_max", "domain", "distribution"), _default_columns(self.reference),
                                  strict=True):
            if columns:
                self.configure(check, columns)

    def load(self, checks: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace every setting by ``checks`` as a contract file writes them (check -> key -> fields)."""
        self._settings = {}
        for check, per_key in checks.items():
            model = get_check(check).settings_model
            self._settings[check] = {k: model.model_validate(v) for k, v in per_key.items()}
        self._changed()

    def to_dict(self, owner: str) -> dict[str, dict[str, dict[str, Any]]]:
        """The settings as a contract file writes them; raises :class:`ConfigurationError` naming ``owner``
        when a check uses a callable that has no import path (a lambda)."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for check, per_key in self._settings.items():
            for key, s in per_key.items():
                for field in ("method", "function"):
                    value = getattr(s, field, None)
                    if isinstance(value, str) and value.startswith(IN_MEMORY_PREFIX):
                        raise ConfigurationError(
                            f"cannot save {owner}: {check} on {key!r} uses {value[len(IN_MEMORY_PREFIX):]}, "
                            "which has no import path (a lambda or a function defined inside another); define it at "
                            "module level or pass 'module:function'"
                        )
                out.setdefault(check, {})[key] = s.model_dump(mode="json")
        return out

    # -- running --------------------------------------------------------------------------------------------
    def current_specs(self) -> list[ColumnSpec]:
        """Specs for profiling new data: the reference's, plus the bounds min/max checks need, with a
        distinct-count sketch only where a uniqueness check reads it."""
        bounds = self._settings.get("min_max", {})
        unique = self._settings.get("uniqueness", {})
        specs = []
        for name, prof in self.reference.columns.items():
            # Uniqueness windows count exactly up to the check's row limit, then with the sketch.
            spec = prof.spec.with_(distinct=name in unique,
                                   exact_distinct=getattr(unique.get(name), "exact_rows", 0))
            if name in bounds:
                s = bounds[name]
                spec = spec.with_(lower=getattr(s, "lower_bound", None), upper=getattr(s, "upper_bound", None))
            specs.append(spec)
        return specs

    def expected_rows(self) -> int:
        """The rows a batch or window should have: the configured count, else the reference's."""
        rc = self._settings.get("row_count", {}).get(TABLE)
        if isinstance(rc, RowCountSettings) and rc.expected is not None:
            return rc.expected
        return self.reference.n_rows

    def run(self, current: Profile, skip: Iterable[str] = (), *, family_wise: bool = True) -> list[CheckResult]:
        """Every configured check's rows on ``current`` but those of ``skip``, findings first (the worst
        first and, within a severity, the furthest past its threshold), healthy rows in display order.

        ``family_wise``: the noise-judged rows share the false-alarm levels (:mod:`sidecar.checks.family`),
        so they hold for the whole report; ``False`` judges each row at its own levels."""
        skipped = set(skip)
        results: list[CheckResult] = []
        for check, key, settings in self.items():
            if check in skipped:
                continue
            try:
                results.extend(get_check(check).evaluate(key.feature, settings, self.reference, current))
            except Exception as exc:  # a user's custom check must not take the report down
                results.append(not_run(check, key.feature, f"check failed: {type(exc).__name__}: {exc}", settings))
        if "schema" not in self._settings or "schema" in skipped:
            # Nothing else reports a missing or retyped column: the skipped rows are the finding.
            results = [not_run(r.check, r.column, r.details["reason"]) if r.details.get("skipped")
                       and r.details.get("reason") != "no rows to check" else r for r in results]
        return order_findings(family_verdicts(results, family_wise=family_wise))

    # -- internals ------------------------------------------------------------------------------------------
    def _apply(self, check: str, new: dict[str, CheckSettings], drop: Iterable[str] = ()) -> None:
        if check == "special_values":
            for column, s in new.items():
                assert isinstance(s, SpecialValueSettings)
                self._track_special(column, [r.value for r in s.rules if r.value is not None])
        dropped = set(drop)
        merged = {k: v for k, v in self._settings.get(check, {}).items() if k not in dropped}
        merged.update(new)
        if merged:
            self._settings[check] = merged
        else:
            self._settings.pop(check, None)
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def _track_special(self, column: str, values: list[Any]) -> None:
        """Make the reference profile count ``values`` in ``column`` (needs the reference rows)."""
        prof = self.reference.columns[column]
        missing = [v for v in values if not any(v == s and type(v) is type(s) for s in prof.spec.special_values)]
        if not missing:
            return
        frame = self._rows() if self._rows is not None else None
        if frame is None:
            why = ("a loaded contract can only re-threshold values it tracks (build it from the reference data to "
                   "add values)" if self._rows is None else
                   "the contract keeps no reference rows and the frame it was learned from is gone; configure new "
                   "special values while you still hold that frame, or name them in a spec (DataContract.from_spec)")
            raise ConfigurationError(
                f"special_values: column {column!r}: the reference does not track {missing}; {why}")
        series = frame[column]
        counts = []
        for v in missing:
            if prof.spec.is_numeric:
                if isinstance(v, str):
                    raise ConfigurationError(f"special_values: column {column!r} is numeric; {v!r} is not a number")
                counts.append(int(np.count_nonzero(to_float_array(series, prof.spec.kind) == v)))
            else:
                counts.append(int((series.astype(object) == v).sum()))
        spec = prof.spec.with_(special_values=(*prof.spec.special_values, *missing))
        self.reference.columns[column] = replace(prof, spec=spec,
                                                 special=np.concatenate([prof.special, np.array(counts, np.int64)]))

    def __getstate__(self) -> dict[str, Any]:
        # A weak reference does not pickle; a copy in another process has no rows, like a loaded contract.
        return {**self.__dict__, "_rows": None}


def _false_alarm(check: str, kwargs: dict[str, Any]) -> dict[str, float]:
    return resolve_false_alarm(check, kwargs.pop("false_alarm_warning", None),
                               kwargs.pop("false_alarm_critical", None))


def _with_false_alarm(settings: CheckSettings, levels: dict[str, float]) -> CheckSettings:
    """``settings`` (and its per-value rules, for special values) with the false-alarm levels applied."""
    if not levels:
        return settings
    rules = getattr(settings, "rules", None)
    update: dict[str, Any] = dict(levels)
    if rules is not None:
        update["rules"] = tuple(r.model_copy(update=levels) for r in rules)
    return settings.model_copy(update=update)


def _default_columns(reference: Profile) -> tuple[list[str], list[str], list[str]]:
    """Columns of the default range, domain and distribution checks.

    Identifiers get none (new ids every day are not drift). Distribution: every other column but
    free-text-like ones (more distinct values than a profile tracks, mostly unique), which drift by
    construction. Range: numbers with extremes (not datetimes, whose new values are later by nature).
    Domain: categories whose every reference value is known (raw or hashed).
    """
    ranged, domains, distributions = [], [], []
    for name, prof in reference.columns.items():
        spec = prof.spec
        if spec.identifier:
            continue
        present = prof.count - prof.nulls
        if spec.is_numeric or prof.domain_hashes is not None or not prof.distinct > 0.5 * present:
            distributions.append(name)
        if spec.kind is ColumnKind.NUMERIC and not math.isnan(prof.minimum):
            ranged.append(name)
        if not spec.is_numeric and prof.domain_hashes is not None and present > 0:
            domains.append(name)
    return ranged, domains, distributions
