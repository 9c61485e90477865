"""Data contracts: :class:`DataContract`, its check set, its versioned JSON files, specs and diffs.

A contract is learned from reference data (it keeps the reference's profile, never its rows), configured
with checks, saved as immutable ``<dir>/<name>/v<N>.json`` files (never pickles) and used to validate
batches or stream windows. Its parts stand below it: :class:`CheckSet` (``checkset``: the settings per
check and key, configured through the ``<check>_test`` handles of ``accessor``, run on a current profile),
``registry`` (where files live, and :func:`resolve_contract`, the one ``DIR/NAME`` or ``DIR/NAME/vN.json``
resolver), ``fileformat``, ``spec``/``specfile``/``specmodel`` (checks as a YAML/JSON document) and
``diff`` (:class:`ContractDiff`). :func:`create_from_source` and :func:`validate_source` (``chunked``) do
the same for files and data sets larger than memory, read in chunks.
"""

from sidecar.contract.checkset import CheckSet
from sidecar.contract.chunked import (
    Progress,
    create_from_source,
    profile_source,
    reference_from_source,
    validate_source,
)
from sidecar.contract.datacontract import DataContract
from sidecar.contract.diff import ContractDiff
from sidecar.contract.fileformat import FORMAT_VERSION, ContractFile
from sidecar.contract.registry import resolve_contract, versions

__all__ = [
    "FORMAT_VERSION",
    "CheckSet",
    "ContractDiff",
    "ContractFile",
    "DataContract",
    "Progress",
    "create_from_source",
    "profile_source",
    "reference_from_source",
    "resolve_contract",
    "validate_source",
    "versions",
]
