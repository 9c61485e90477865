"""The shape of a contract spec file: pydantic models, from which ``schemas/spec.schema.json`` is generated.

These models check the *structure* of a spec (known keys, the right kinds of values). What the values
mean (a threshold below zero, a method that does not exist, bounds on a text column) is judged by the
checks' own ``configure``, which :mod:`sidecar.contract.spec` calls: the spec never re-implements it.

A check given as ``false`` is switched off for that column; ``true`` (or ``{}``) enables it with its
defaults.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sidecar.checks.result import Status

__all__ = [
    "ColumnChecksSpec",
    "ContractSpec",
    "CustomCheckSpec",
    "DistributionSpec",
    "DomainSpec",
    "MinMaxSpec",
    "ProfileOptions",
    "RowCountSpec",
    "SchemaSpec",
    "SpecialValueRuleSpec",
    "SpecialValuesSpec",
    "TableSpec",
    "UniquenessSpec",
]

Scalar = str | int | float | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Thresholds(_Strict):
    """Keywords every check takes (``configure(threshold=..., warning=..., ...)``)."""

    threshold: float | None = Field(None, description="critical threshold (alone: warning keeps its default)")
    warning: float | None = Field(None, description="warning threshold (an effect size)")
    critical: float | None = Field(None, description="critical threshold (an effect size)")
    false_alarm_warning: float | None = Field(
        None, description="chance that sampling noise alone raises a warning on an unchanged feature (1e-2)")
    false_alarm_critical: float | None = Field(
        None, description="chance that sampling noise alone raises a critical on an unchanged feature (1e-3)")


class SchemaSpec(_Thresholds):
    """Severity of each kind of schema change (missing columns and changed kinds are always critical)."""

    added: Status | None = None
    reordered: Status | None = None
    dtype_changed: Status | None = None


class RowCountSpec(_Thresholds):
    """Rows a batch or stream window should have; thresholds on |actual - expected| / expected."""

    expected: int | None = Field(None, description="expected rows per batch or window; none: information only")


class SpecialValueRuleSpec(_Strict):
    """Thresholds for one watched value."""

    value: Scalar = Field(..., description="the value; null means missing (NaN, None, NA)")
    threshold: float | None = None
    warning: float | None = None
    critical: float | None = None


class SpecialValuesSpec(_Thresholds):
    """Watched values: ``rules`` (per-value thresholds) or ``values`` sharing the thresholds given here."""

    rules: list[SpecialValueRuleSpec] | None = None
    values: list[Scalar] | None = None


class MinMaxSpec(_Thresholds):
    """Bounds; a side left out is the reference's minimum or maximum."""

    lower_bound: float | None = None
    upper_bound: float | None = None


class UniquenessSpec(_Thresholds):
    """Duplicate share; ``exact_rows``: non-missing rows a stream window counts exactly."""

    exact_rows: int | None = None


class DomainSpec(_Thresholds):
    """Allowed values; left out: the values the reference saw."""

    allowed: list[str | int | float | bool] | None = None
    closed: bool | None = Field(
        None, description="closed domain: any value outside it is at least a warning; left out: closed when every "
        "value the reference saw, it saw at least 5 times (or no reference row is outside `allowed`)")


class DistributionSpec(_Thresholds):
    """Distribution drift; ``method`` is a registered distance or ``module:function``."""

    method: str | None = Field(None, description="psi, l-infinity, jensen-shannon, ks, wasserstein or module:function")


class CustomCheckSpec(_Thresholds):
    """A custom check, called by import path."""

    name: str = Field(..., description="the check's display name")
    function: str = Field(..., description="import path 'module:function'")


class ColumnChecksSpec(_Strict):
    """The checks of one column, or of every column a glob pattern (``spend_*``) matches."""

    special_values: SpecialValuesSpec | bool | None = None
    min_max: MinMaxSpec | bool | None = None
    uniqueness: UniquenessSpec | bool | None = None
    domain: DomainSpec | bool | None = None
    distribution: DistributionSpec | bool | None = None
    custom: list[CustomCheckSpec] | None = None


class TableSpec(_Strict):
    """Table-level checks."""

    schema_: SchemaSpec | bool | None = Field(None, alias="schema")
    row_count: RowCountSpec | bool | None = None


class ProfileOptions(_Strict):
    """How the reference is profiled."""

    bins: int | None = Field(None, description="quantile bins per numeric column (20)")
    min_value_count: int | None = Field(
        None, description="category values seen fewer times are never stored raw (5)")


class ContractSpec(_Strict):
    """A declarative contract: which checks, methods and thresholds apply to which columns."""

    name: str | None = Field(None, description="contract name (the command line's --name wins)")
    defaults: bool = Field(True, description="start from the default checks (false: only what is listed)")
    family_wise: bool | None = Field(
        None, description="true (default): the false-alarm levels hold per report, shared by its noise-judged "
        "tests (Holm); false: each check and feature at its own levels")
    profile: ProfileOptions | None = None
    identifiers: list[str] | None = Field(
        None, description="identifier columns (all values unique); left out: detected")
    ignore: list[str] | None = Field(None, description="reference columns left out of the contract")
    table: TableSpec | None = None
    columns: dict[str, ColumnChecksSpec] | None = Field(
        None, description="column name or glob pattern (spend_*) -> its checks; applied in file order")
