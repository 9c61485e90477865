"""The statistics core shared by batch validation and the streaming sidecar, the bottom of the house.

A :class:`ColumnSpec` (:mod:`~sidecar.stats.spec`) fixes how a column is counted; a :class:`ColumnProfile`
(:mod:`~sidecar.stats.column`, numeric columns counted in one vectorised pass by :mod:`~sidecar.stats.block`)
holds its mergeable counts (histograms over fixed edges, category counts, nulls, special values, min/max, a
HyperLogLog sketch), and a :class:`Profile` (:mod:`~sidecar.stats.profile`, chunk by chunk in
:mod:`~sidecar.stats.tally`) those of a table; drift distances (:mod:`~sidecar.stats.distances`) compare two
profiles' bins and the noise models (:mod:`~sidecar.stats.noise`) bound what sampling alone explains. It
imports nothing of the sidecar but :mod:`sidecar.errors`.
"""

from sidecar.stats.column import CATEGORY_CAP, ColumnProfile
from sidecar.stats.distances import DISTANCES, register_distance, resolve_distance
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.profile import Profile, reference_profile
from sidecar.stats.spec import ColumnSpec

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
