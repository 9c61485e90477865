"""Data contracts: :class:`DataContract`, its check configuration, and its versioned JSON files.

A contract is learned from reference data, configured with checks, saved as immutable
``<dir>/<name>/v<N>.json`` files (never pickles) and used to validate batches or stream windows.
:func:`create_from_source` and :func:`validate_source` do the same for files and data sets larger than
memory, read in chunks.
"""

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
from sidecar.contract.registry import versions

__all__ = [
    "FORMAT_VERSION",
    "ContractDiff",
    "ContractFile",
    "DataContract",
    "Progress",
    "create_from_source",
    "profile_source",
    "reference_from_source",
    "validate_source",
    "versions",
]
