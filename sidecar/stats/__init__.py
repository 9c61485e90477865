"""The statistics core shared by batch validation and the streaming sidecar.

A :class:`Profile` holds per-column mergeable counts (histograms over fixed edges, category counts,
nulls, special values, min/max, a HyperLogLog sketch). Drift distances compare two profiles' bins.
"""

from sidecar.stats.column import CATEGORY_CAP, ColumnProfile, ColumnSpec
from sidecar.stats.distances import DISTANCES, register_distance, resolve_distance
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.profile import Profile, reference_profile

__all__ = [
    "CATEGORY_CAP",
    "DISTANCES",
    "ColumnKind",
    "ColumnProfile",
    "ColumnSpec",
    "Profile",
    "reference_profile",
    "register_distance",
    "resolve_distance",
]
