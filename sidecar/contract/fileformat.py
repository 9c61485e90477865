"""The contract file format (``contracts/<name>/v<N>.json``) as pydantic models.

``schemas/contract.schema.json`` is generated from :class:`ContractFile`; a test fails when they drift.
Files are canonical JSON plus a sha256 over everything but the hash itself, so any edit is detected.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FORMAT_VERSION",
    "ColumnProfileModel",
    "ColumnSpecModel",
    "ContractFile",
    "ProfileModel",
    "canonical_json",
    "content_hash",
]

#: Bumped on any incompatible change of the file layout; loaders refuse versions they do not know.
FORMAT_VERSION = 1

Scalar = str | int | float | bool


class ColumnSpecModel(BaseModel):
    """How a column is counted: kind, dtype, bin edges or tracked categories, special values, bounds."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["numeric", "categorical", "boolean", "datetime"]
    dtype: str
    edges: list[float] | None = None
    categories: list[Scalar] | None = None
    special_values: list[Scalar] = Field(default_factory=list)
    lower: float | None = None
    upper: float | None = None
    distinct: bool = True
    identifier: bool = Field(False, description="all values unique in the reference: no values stored")


class ColumnProfileModel(BaseModel):
    """Counts of one column (never rows): histogram or category counts, nulls, special values, sketch."""

    model_config = ConfigDict(extra="forbid")

    spec: ColumnSpecModel
    count: int = Field(ge=0)
    nulls: int = Field(ge=0)
    special: list[int]
    min: float | None
    max: float | None
    below: int = 0
    above: int = 0
    hll: str = Field(description="HyperLogLog registers (precision 12), base64")
    hist: list[int] | None = Field(None, description="[underflow, bins..., overflow, missing]")
    categories: list[tuple[Scalar, int]] | None = Field(None, description="[value, count] pairs")
    other: int | None = None
    singletons: int = Field(0, ge=0, description="category values seen exactly once (Good-Turing)")
    domain_hashes: list[str] | None = Field(
        None, description="keyed BLAKE2b hashes of category values too rare to store raw (see sidecar.stats.hashing)")


class ProfileModel(BaseModel):
    """The reference profile."""

    model_config = ConfigDict(extra="forbid")

    n_rows: int = Field(ge=0)
    order: list[str] | None
    columns: list[ColumnProfileModel]


class ContractFile(BaseModel):
    """One immutable version of a data contract."""

    model_config = ConfigDict(extra="forbid")

    format_version: Literal[1]
    name: str
    version: int = Field(ge=1)
    created_at: datetime
    reference: ProfileModel
    checks: dict[str, dict[str, dict[str, Any]]] = Field(
        description="check name -> column (or '*' for table checks) -> settings"
    )
    warnings: list[str] = Field(default_factory=list,
                                description="what the contract's creator was warned about (e.g. a small reference)")
    family_wise: bool = Field(
        True, description="true (also when absent): the false-alarm levels hold per report, shared by its "
        "noise-judged tests (Holm); false: per check and feature")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the canonical JSON of all other fields")


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no NaN) that hashes the same on every machine."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(obj: dict[str, Any]) -> str:
    """sha256 hex of ``obj`` without its ``sha256`` key."""
    body = {k: v for k, v in obj.items() if k != "sha256"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()
