"""The :class:`DataContract`: a reference profile plus check configuration, validated against new data."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import sidecar.checks  # noqa: F401  (registers every check)
from sidecar.checks.base import CHECKS, TABLE, CheckSettings, get_check, not_run, order_findings
from sidecar.checks.callables import IN_MEMORY_PREFIX
from sidecar.checks.family import family_verdicts
from sidecar.checks.row_count import RowCountSettings, row_count_change
from sidecar.checks.special_values import SpecialValueSettings
from sidecar.contract import registry
from sidecar.contract.accessor import CheckAccessor, CustomCheckAccessor
from sidecar.contract.fileformat import FORMAT_VERSION, ContractFile, content_hash
from sidecar.errors import ConfigurationError
from sidecar.report.model import CHECK_NAMES, CheckResult, RowCount, ValidationReport
from sidecar.stats.column import ColumnSpec
from sidecar.stats.convert import is_frame, to_float_array
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.profile import DEFAULT_BINS, MIN_VALUE_COUNT, Profile, reference_profile

if TYPE_CHECKING:
    import pandas as pd

    from sidecar.contract.diff import ContractDiff

__all__ = ["SMALL_REFERENCE_ROWS", "DataContract"]

#: Keys of a contract file that belong to one saved version, not to its content.
_PER_VERSION = ("version", "created_at", "sha256")

#: A reference with fewer rows than this gets a warning at creation (recorded in the contract): its noise
#: bounds are wide, so only large changes can be told from chance.
SMALL_REFERENCE_ROWS = 100


class DataContract:
    """A named data contract: what the reference data looked like and which checks new data must pass.

    ``DataContract(name, reference_df)`` profiles the reference in one pass and enables the default checks:
    schema, row count (information unless an expected count is configured), the missing-value rate of every
    column, values outside the reference's range (numbers), values the reference never saw (categories)
    and distribution drift (PSI for numbers, L-infinity for categories; see
    :mod:`sidecar.checks.distribution`). Identifiers (integer or string columns whose values are all
    unique) get no distribution, range or domain check, and none of their values are stored. Each
    ``*_test.configure(...)`` changes or adds checks.

    Every verdict knows the sample sizes: a value crosses a threshold only when it is above the effect size
    *and* above what sampling noise reaches for the reference and current sizes (see
    :mod:`sidecar.stats.noise`). The false-alarm levels (1e-2 warning, 1e-3 critical) hold for the whole
    report: its noise-judged tests share them (Holm, :mod:`sidecar.checks.family`). ``family_wise=False``
    gives each check its own levels instead; the setting is saved with the contract (files saved before it
    existed load with the default, ``True``).

    ``min_value_count`` (default 5): category values seen fewer times are never written to the contract
    raw (they are remembered by keyed hash). ``identifiers``: the identifier columns (``None`` detects them).

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"age": [20, 30, 40, 50], "plan": ["a", "b", "a", "b"]})
    >>> c = DataContract("demo", ref)
    >>> _ = c.distribution_test.configure(["age"], threshold=0.2, method="l-infinity")
    >>> c.validate(ref).status
    <Status.HEALTHY: 'healthy'>
    """

    def __init__(self, name: str, reference_df: pd.DataFrame | None = None, *, defaults: bool = True,
                 n_bins: int = DEFAULT_BINS, min_value_count: int = MIN_VALUE_COUNT,
                 identifiers: Iterable[str] | None = None, family_wise: bool = True,
                 _reference: Profile | None = None) -> None:
        self.name = registry.check_name(name)
        if not isinstance(family_wise, bool):
            raise ConfigurationError(f"contract {name!r}: family_wise must be True or False, got {family_wise!r}")
        self._family_wise = family_wise
        #: What the creator was warned about (saved with the contract).
        self.warnings: list[str] = []
        if _reference is None:
            if not is_frame(reference_df):
                raise ConfigurationError(
                    f"contract {name!r}: reference_df must be a pandas DataFrame, got {type(reference_df).__name__}"
                )
            if reference_df.shape[1] == 0:
                raise ConfigurationError(f"contract {name!r}: the reference frame has no columns")
            if reference_df.shape[0] == 0:
                raise ConfigurationError(
                    f"contract {name!r}: the reference frame has no rows "
                    f"(columns {list(map(str, reference_df.columns))}); a contract learns from reference data"
                )
            _reference = reference_profile(reference_df, n_bins=n_bins, min_value_count=min_value_count,
                                           identifiers=identifiers)
            if len(reference_df) < SMALL_REFERENCE_ROWS:
                message = (f"contract {name!r}: the reference has only {len(reference_df)} rows (under "
                           f"{SMALL_REFERENCE_ROWS}); its noise bounds are wide, so only large changes will be "
                           "flagged. Learn the contract from more data if you can.")
                self.warnings.append(message)
                warnings.warn(message, UserWarning, stacklevel=2)
        self.reference: Profile = _reference
        self._reference_df = reference_df
        self._settings: dict[str, dict[str, CheckSettings]] = {}
        self.version: int | None = None
        self.sha256: str | None = None
        self.created_at: datetime | None = None
        self.schema_test = CheckAccessor(self, "schema")
        self.row_count_test = CheckAccessor(self, "row_count")
        self.special_value_test = CheckAccessor(self, "special_values")
        self.min_max_test = CheckAccessor(self, "min_max")
        self.uniqueness_test = CheckAccessor(self, "uniqueness")
        self.domain_test = CheckAccessor(self, "domain")
        self.distribution_test = CheckAccessor(self, "distribution")
        self.custom_test = CustomCheckAccessor(self, "custom")
        if defaults:
            self.schema_test.configure()
            self.row_count_test.configure()
            self.special_value_test.configure()
            ranged, domains, distributions = self._default_columns()
            if ranged:
                self.min_max_test.configure(ranged)
            if domains:
                self.domain_test.configure(domains)
            if distributions:
                self.distribution_test.configure(distributions)

    def _default_columns(self) -> tuple[list[str], list[str], list[str]]:
        """Columns of the default range, domain and distribution checks.

        Identifiers get none (new ids every day are not drift). Distribution: every other column but
        free-text-like ones (more distinct values than a profile tracks, mostly unique), which drift by
        construction. Range: numbers with extremes (not datetimes, whose new values are later by nature).
        Domain: categories whose every reference value is known (raw or hashed).
        """
        ranged, domains, distributions = [], [], []
        for name, prof in self.reference.columns.items():
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

    # -- configuration --------------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """Reference column names, in order."""
        return list(self.reference.columns)

    @property
    def family_wise(self) -> bool:
        """True (default): the false-alarm levels hold per report, shared by its noise-judged tests (see
        :mod:`sidecar.checks.family`); False: per check and feature."""
        return self._family_wise

    @family_wise.setter
    def family_wise(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise ConfigurationError(f"contract {self.name!r}: family_wise must be True or False, got {value!r}")
        if value != self._family_wise:
            self._family_wise = value
            self.version = self.sha256 = None

    @property
    def settings(self) -> dict[str, dict[str, CheckSettings]]:
        """check -> column -> settings (a copy)."""
        return {k: dict(v) for k, v in self._settings.items()}

    def _apply(self, check: str, new: dict[str, CheckSettings], drop: Iterable[str] = ()) -> None:
        if check == "special_values":
            for column, s in new.items():
                assert isinstance(s, SpecialValueSettings)
                self._track_special(column, [r.value for r in s.rules if r.value is not None])
        merged = {k: v for k, v in self._settings.get(check, {}).items() if k not in set(drop)}
        merged.update(new)
        if merged:
            self._settings[check] = merged
        else:
            self._settings.pop(check, None)
        # A configured contract is a new, unsaved version until save() says otherwise.
        self.version = self.sha256 = None

    def _track_special(self, column: str, values: list[Any]) -> None:
        """Make the reference profile count ``values`` in ``column`` (needs the reference rows)."""
        prof = self.reference.columns[column]
        missing = [v for v in values if not any(v == s and type(v) is type(s) for s in prof.spec.special_values)]
        if not missing:
            return
        if self._reference_df is None:
            raise ConfigurationError(
                f"special_values: column {column!r}: the reference does not track {missing}; a loaded contract "
                "can only re-threshold values it tracks (build it from the reference data to add values)"
            )
        series = self._reference_df[column]
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

    def new_profile(self) -> Profile:
        """An empty profile of the current specs, for streaming windows to update batch by batch."""
        return Profile.empty(self.current_specs())

    def profile(self, df: pd.DataFrame) -> Profile:
        """Profile ``df`` the way :meth:`validate` does (exact duplicate counts included)."""
        unique = list(self._settings.get("uniqueness", {}))
        # A frame's duplicates are counted from its rows (Profile.duplicates); a hash set per uniqueness
        # column, which stream windows need, would count the same thing a second time.
        specs = [spec.with_(exact_distinct=0) for spec in self.current_specs()]
        return Profile.from_frame(df, specs, unique_columns=unique)

    # -- validation -----------------------------------------------------------------------------------
    def validate(self, df: pd.DataFrame) -> ValidationReport:
        """Validate ``df`` against the contract. Never raises for problems in the data: they are rows.

        Raises ``TypeError`` only when ``df`` is not a DataFrame.
        """
        if not is_frame(df):
            raise TypeError(f"validate() needs a pandas DataFrame, got {type(df).__name__}")
        return self.check(self.profile(df))

    def check(self, current: Profile, *, skip: Iterable[str] = (), window_start: datetime | None = None,
              window_end: datetime | None = None, partial: bool = False) -> ValidationReport:
        """Run every configured check on a current profile (a batch or a stream window).

        ``skip`` names checks to leave out (the sidecar judges only the schema of windows below
        ``min_rows``). Findings come first, the worst first and, within a severity, the furthest past its
        threshold first; healthy rows follow in check and column order.
        """
        skipped = set(skip)
        position = {name: i for i, name in enumerate(self.reference.columns)}
        results: list[CheckResult] = []
        for check_name in sorted(CHECKS, key=_display_order):
            if check_name in skipped:
                continue
            check = get_check(check_name)
            configured = self._settings.get(check_name, {})
            # Rows follow the reference's column order whatever order checks were configured or stored in.
            for key in sorted(configured, key=lambda k: (position.get(k.split("::", 1)[0], -1), k)):
                settings = configured[key]
                column = key.split("::", 1)[0]
                try:
                    results.extend(check.evaluate(column, settings, self.reference, current))
                except Exception as exc:  # a user's custom check must not take the report down
                    results.append(not_run(check_name, column, f"check failed: {type(exc).__name__}: {exc}", settings))
        if "schema" not in self._settings or "schema" in skipped:
            # Nothing else reports a missing or retyped column: the skipped rows are the finding.
            results = [not_run(r.check, r.column, r.details["reason"]) if r.details.get("skipped")
                       and r.details.get("reason") != "no rows to check" else r for r in results]
        # The report's noise-judged rows share the false-alarm levels (sidecar.checks.family).
        results = family_verdicts(results, family_wise=self._family_wise)
        rc = self._settings.get("row_count", {}).get(TABLE)
        expected = self.reference.n_rows
        if isinstance(rc, RowCountSettings) and rc.expected is not None:
            expected = rc.expected
        return ValidationReport(
            contract=self.name,
            contract_version=self.version,
            contract_sha256=self.sha256,
            window_start=window_start,
            window_end=window_end,
            partial=partial,
            row_count=RowCount(expected=expected, actual=current.n_rows,
                               change=row_count_change(expected, current.n_rows)),
            results=order_findings(results),
        )

    # -- persistence ----------------------------------------------------------------------------------
    def _body(self) -> dict[str, Any]:
        checks: dict[str, dict[str, dict[str, Any]]] = {}
        for check_name, per_col in self._settings.items():
            for key, s in per_col.items():
                for field in ("method", "function"):
                    value = getattr(s, field, None)
                    if isinstance(value, str) and value.startswith(IN_MEMORY_PREFIX):
                        raise ConfigurationError(
                            f"cannot save contract {self.name!r}: {check_name} on {key!r} uses "
                            f"{value[len(IN_MEMORY_PREFIX):]}, "
                            "which has no import path (a lambda or a function defined inside another); define it at "
                            "module level or pass 'module:function'"
                        )
                checks.setdefault(check_name, {})[key] = s.model_dump(mode="json")
        body = {"format_version": FORMAT_VERSION, "name": self.name, "reference": self.reference.to_dict(),
                "checks": checks}
        if self.warnings:  # written only when there are some, so existing contracts keep their hashes
            body["warnings"] = list(self.warnings)
        if not self._family_wise:  # likewise: written only when it is not the default
            body["family_wise"] = False
        return body

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Save as the next version under ``directory/<name>/``; returns the path.

        Files are immutable: when the newest saved version has the same content, its path is returned and
        nothing is written. Raises ``ValueError`` when a custom callable cannot be saved (e.g. a lambda).
        """
        body = self._body()
        latest = registry.latest_version(directory, self.name)
        if latest is not None:
            path = registry.resolve_path(directory, self.name, latest)
            old = registry.read_verified(path)
            if content_hash({k: v for k, v in old.items() if k not in _PER_VERSION}) == content_hash(body):
                self._mark_saved(ContractFile.model_validate(old))
                return path
        body["created_at"] = datetime.now(UTC).isoformat()
        path = registry.write_new_version(directory, self.name, body)
        self._mark_saved(registry.read_file(path))
        return path

    def _mark_saved(self, f: ContractFile) -> None:
        self.version, self.sha256, self.created_at = f.version, f.sha256, f.created_at

    @classmethod
    def load(cls, directory: str | os.PathLike[str], name: str, version: int | None = None) -> DataContract:
        """Load ``name`` (newest version unless ``version`` is given) from ``directory``."""
        return cls.from_file(registry.resolve_path(directory, registry.check_name(name), version))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> DataContract:
        """Load one contract file (verifying its format and sha256)."""
        data = registry.read_verified(path)
        f = ContractFile.model_validate(data)
        contract = cls(f.name, defaults=False, _reference=Profile.from_dict(data["reference"]))
        contract.warnings = list(f.warnings)
        contract._family_wise = f.family_wise
        for check_name, per_col in data["checks"].items():
            check = get_check(check_name)
            contract._settings[check_name] = {k: check.settings_model.model_validate(v) for k, v in per_col.items()}
        contract._mark_saved(f)
        return contract

    @classmethod
    def from_path(cls, spec: str | os.PathLike[str]) -> DataContract:
        """Load from ``dir/name`` (newest version) or a file ``dir/name/vN.json``."""
        p = Path(spec)
        if p.suffix == ".json":
            return cls.from_file(p)
        return cls.load(p.parent, p.name)

    # -- specs and comparison (sidecar.contract.spec, sidecar.contract.diff) ---------------------------
    @classmethod
    def from_spec(cls, reference_df: pd.DataFrame, spec: dict[str, Any] | str | os.PathLike[str], *,
                  name: str | None = None) -> DataContract:
        """A contract learned from ``reference_df`` and configured by a spec: a dict, or a .yaml/.yml/.json
        file (format: ``schemas/spec.schema.json``; ``name`` overrides the spec's ``name:``).

        Raises ``ValueError`` naming the key and the file's line for unknown keys, unknown columns or
        patterns that match nothing, and whatever the checks' ``configure`` rejects.

        Examples
        --------
        >>> import pandas as pd
        >>> ref = pd.DataFrame({"age": [20, 30, 40, 50], "plan": ["a", "b", "a", "b"]})
        >>> spec = {"name": "demo", "columns": {"age": {"min_max": {"lower_bound": 0, "upper_bound": 120}}}}
        >>> DataContract.from_spec(ref, spec).settings["min_max"]["age"].upper_bound
        120.0
        """
        from sidecar.contract.spec import contract_from_spec

        return contract_from_spec(cls, reference_df, spec, name)

    def to_spec(self) -> dict[str, Any]:
        """The contract's checks as a spec (a YAML/JSON-able dict) that :meth:`from_spec` turns back into
        the same checks. Raises ``ValueError`` when a check uses a callable with no import path."""
        from sidecar.contract.spec import spec_of

        return spec_of(self)

    def diff(self, other: DataContract) -> ContractDiff:
        """What changed from ``other`` (the older contract) to this one: columns, checks and settings, and
        how far the two references drifted apart (see :class:`sidecar.contract.diff.ContractDiff`)."""
        from sidecar.contract.diff import diff_contracts

        return diff_contracts(other, self)

    def __repr__(self) -> str:
        v = f" v{self.version}" if self.version else ""
        shape = f"{len(self.reference.columns)} columns, {self.reference.n_rows} reference rows"
        return f"<DataContract {self.name}{v}: {shape}>"


def _display_order(check: str) -> tuple[int, str]:
    """Report rows follow :data:`CHECK_NAMES`; checks registered by plugins come after, by name."""
    return (CHECK_NAMES.index(check), "") if check in CHECK_NAMES else (len(CHECK_NAMES), check)
