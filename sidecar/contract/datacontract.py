"""The :class:`DataContract`: a reference profile plus check configuration, validated against new data.

The contract is the face of its parts: the reference profile (:mod:`sidecar.stats.profile`), the check set
(:mod:`~sidecar.contract.checkset`, configured through one handle per registered check,
:mod:`~sidecar.contract.accessor`), the file registry (:mod:`~sidecar.contract.registry`), specs
(:mod:`~sidecar.contract.spec`) and diffs (:mod:`~sidecar.contract.diff`). Validating builds a
:class:`~sidecar.report.model.ValidationReport` from the check set's rows.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sidecar.checks.base import CheckSettings
from sidecar.checks.row_count import row_count_change
from sidecar.contract import registry
from sidecar.contract.accessor import CheckAccessor, CustomCheckAccessor, accessors
from sidecar.contract.checkset import CheckSet
from sidecar.contract.fileformat import FORMAT_VERSION, ContractFile, content_hash
from sidecar.errors import ConfigurationError
from sidecar.report.model import RowCount, ValidationReport
from sidecar.stats.column import ColumnSpec
from sidecar.stats.convert import is_frame
from sidecar.stats.profile import DEFAULT_BINS, MIN_VALUE_COUNT, Profile, reference_profile

if TYPE_CHECKING:
    import pandas as pd

    from sidecar.contract.diff import ContractDiff
    from sidecar.contract.spec import SpecOrigin

__all__ = ["SMALL_REFERENCE_ROWS", "DataContract", "warn_small_reference"]

#: A reference with fewer rows than this gets a warning at creation (recorded in the contract): its noise
#: bounds are wide, so only large changes can be told from chance.
SMALL_REFERENCE_ROWS = 100

#: Keys of a contract file that belong to one saved version, not to its content.
_PER_VERSION = ("version", "created_at", "sha256")


class _FamilyWise:
    """``DataContract.family_wise``: a bool; changing it changes the contract's content (unsaved again).

    A descriptor rather than a property pair, so the contract's own methods stay its jobs alone."""

    def __get__(self, contract: DataContract | None, owner: type | None = None) -> Any:
        return self if contract is None else vars(contract).get("_family_wise", True)

    def __set__(self, contract: DataContract, value: bool) -> None:
        if not isinstance(value, bool):
            raise ConfigurationError(f"contract {contract.name!r}: family_wise must be True or False, got {value!r}")
        if value != vars(contract).get("_family_wise", True):
            contract.version = contract.sha256 = None
        vars(contract)["_family_wise"] = value


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

    The contract keeps the reference's profile, not its rows: :attr:`checks` (a
    :class:`~sidecar.contract.checkset.CheckSet`) holds the reference frame only weakly, to count special
    values configured while the caller still holds it.

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"age": [20, 30, 40, 50], "plan": ["a", "b", "a", "b"]})
    >>> c = DataContract("demo", ref)
    >>> _ = c.distribution_test.configure(["age"], threshold=0.2, method="l-infinity")
    >>> c.validate(ref).status
    <Status.HEALTHY: 'healthy'>
    """

    # One handle per registered check (sidecar.contract.accessor.accessors); declared for type checkers.
    schema_test: CheckAccessor[DataContract]
    row_count_test: CheckAccessor[DataContract]
    special_value_test: CheckAccessor[DataContract]
    min_max_test: CheckAccessor[DataContract]
    uniqueness_test: CheckAccessor[DataContract]
    domain_test: CheckAccessor[DataContract]
    distribution_test: CheckAccessor[DataContract]
    custom_test: CustomCheckAccessor[DataContract]
    #: True (default): the false-alarm levels hold per report, shared by its noise-judged tests (see
    #: :mod:`sidecar.checks.family`); False: per check and feature.
    family_wise = _FamilyWise()

    def __init__(self, name: str, reference_df: pd.DataFrame | None = None, *, defaults: bool = True,
                 n_bins: int = DEFAULT_BINS, min_value_count: int = MIN_VALUE_COUNT,
                 identifiers: Iterable[str] | None = None, family_wise: bool = True,
                 _reference: Profile | None = None) -> None:
        self.name = registry.check_name(name)
        self.family_wise = family_wise
        #: What the creator was warned about (saved with the contract).
        self.warnings: list[str] = []
        if _reference is None:
            _reference = _profile_reference(name, reference_df, n_bins, min_value_count, identifiers)
            warn_small_reference(self, _reference.n_rows)
        self.reference: Profile = _reference
        self.version: int | None = None
        self.sha256: str | None = None
        self.created_at: datetime | None = None
        #: The checks and their settings; counts special values on the reference frame while the caller holds it.
        self.checks = CheckSet(_reference, reference_df, on_change=self._saved_as)
        #: How a spec read the reference (profile options, ignored columns), for ``to_spec``.
        self._origin: SpecOrigin | None = None
        vars(self).update(accessors(self.checks, self))
        if defaults:
            self.checks.enable_defaults()

    # -- configuration --------------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """Reference column names, in order."""
        return self.checks.columns

    @property
    def settings(self) -> dict[str, dict[str, CheckSettings]]:
        """check -> column -> settings (a copy)."""
        return self.checks.settings

    def current_specs(self) -> list[ColumnSpec]:
        """Specs for profiling new data: the reference's, plus the bounds min/max checks need, with a
        distinct-count sketch only where a uniqueness check reads it."""
        return self.checks.current_specs()

    def new_profile(self) -> Profile:
        """An empty profile of the current specs, for streaming windows to update batch by batch."""
        return Profile.empty(self.current_specs())

    def profile(self, df: pd.DataFrame) -> Profile:
        """Profile ``df`` the way :meth:`validate` does (exact duplicate counts included)."""
        unique = list(self.checks.of("uniqueness"))
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
        expected = self.checks.expected_rows()
        return ValidationReport(
            contract=self.name,
            contract_version=self.version,
            contract_sha256=self.sha256,
            window_start=window_start,
            window_end=window_end,
            partial=partial,
            row_count=RowCount(expected=expected, actual=current.n_rows,
                               change=row_count_change(expected, current.n_rows)),
            results=self.checks.run(current, skip, family_wise=self.family_wise),
        )

    # -- persistence ----------------------------------------------------------------------------------
    def _body(self) -> dict[str, Any]:
        body = {"format_version": FORMAT_VERSION, "name": self.name, "reference": self.reference.to_dict(),
                "checks": self.checks.to_dict(f"contract {self.name!r}")}
        if self.warnings:  # written only when there are some, so existing contracts keep their hashes
            body["warnings"] = list(self.warnings)
        if not self.family_wise:  # likewise: written only when it is not the default
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
                self._saved_as(ContractFile.model_validate(old))
                return path
        body["created_at"] = datetime.now(UTC).isoformat()
        path = registry.write_new_version(directory, self.name, body)
        self._saved_as(registry.read_file(path))
        return path

    def _saved_as(self, f: ContractFile | None = None) -> None:
        """Take the identity of saved file ``f``; ``None``: a configured contract is a new, unsaved version
        until save() says otherwise (the check set calls this on every change)."""
        if f is None:
            self.version = self.sha256 = None
        else:
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
        contract.family_wise = f.family_wise
        contract.checks.load(data["checks"])
        contract._saved_as(f)
        return contract

    @classmethod
    def from_path(cls, spec: str | os.PathLike[str]) -> DataContract:
        """Load from ``dir/name`` (newest version) or a file ``dir/name/vN.json`` (see
        :func:`sidecar.contract.registry.resolve_contract`, which every command uses too)."""
        return cls.from_file(registry.resolve_contract(spec))

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

        contract, origin = contract_from_spec(cls, reference_df, spec, name)
        contract._origin = origin
        return contract

    def to_spec(self) -> dict[str, Any]:
        """The contract's checks as a spec (a YAML/JSON-able dict) that :meth:`from_spec` turns back into
        the same checks. Raises ``ValueError`` when a check uses a callable with no import path."""
        from sidecar.contract.spec import spec_of

        return spec_of(self.name, self.checks, self._origin, family_wise=self.family_wise)

    def diff(self, other: DataContract) -> ContractDiff:
        """What changed from ``other`` (the older contract) to this one: columns, checks and settings, and
        how far the two references drifted apart (see :class:`sidecar.contract.diff.ContractDiff`)."""
        from sidecar.contract.diff import diff_contracts

        return diff_contracts(other, self)

    def __repr__(self) -> str:
        v = f" v{self.version}" if self.version else ""
        shape = f"{len(self.reference.columns)} columns, {self.reference.n_rows} reference rows"
        return f"<DataContract {self.name}{v}: {shape}>"


def _profile_reference(name: str, reference_df: Any, n_bins: int, min_value_count: int,
                       identifiers: Iterable[str] | None) -> Profile:
    """The reference profile of ``reference_df``, after checking it is a frame with rows and columns."""
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
    return reference_profile(reference_df, n_bins=n_bins, min_value_count=min_value_count, identifiers=identifiers)


def warn_small_reference(contract: DataContract, rows: int) -> None:
    """Warn (and record in ``contract.warnings``) when the reference has under :data:`SMALL_REFERENCE_ROWS`
    rows. The warning points at the code that created the contract (two frames up)."""
    if rows >= SMALL_REFERENCE_ROWS:
        return
    message = (f"contract {contract.name!r}: the reference has only {rows} rows (under {SMALL_REFERENCE_ROWS}); "
               "its noise bounds are wide, so only large changes will be flagged. Learn the contract from more "
               "data if you can.")
    contract.warnings.append(message)
    warnings.warn(message, UserWarning, stacklevel=3)
