"""Categorical values as codes into their distinct values: what an Arrow dictionary array already is.

Counting categories from Python objects means hashing every row (``pandas.factorize``); counting codes is
one ``bincount``. The Arrow decoder hands :class:`CodedValues` to the profile when asked (the sidecar's
engine does), so the categories of a 5,000-row batch are counted without building 5,000 objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CodedValues"]


@dataclass(frozen=True)
class CodedValues:
    """Row ``i`` holds ``values[codes[i]]``; code ``-1`` is missing. ``values`` must be distinct.

    Examples
    --------
    >>> col = CodedValues(np.array([1, 0, -1, 1]), np.array(["a", "b"], dtype=object))
    >>> col.tolist(), col[np.array([0, 2])].tolist()
    (['b', 'a', None, 'b'], ['b', None])
    >>> col.counts()
    (['a', 'b'], [1, 2])
    """

    codes: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def __getitem__(self, rows: Any) -> CodedValues:
        return CodedValues(self.codes[rows], self.values)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.to_objects()
        return out if dtype is None else out.astype(dtype)

    def to_objects(self) -> np.ndarray:
        """The rows as an ``object`` array with ``None`` for missing."""
        lookup = np.empty(len(self.values) + 1, dtype=object)
        lookup[:-1] = self.values
        lookup[-1] = None  # code -1 indexes the last entry
        return lookup[self.codes]

    def tolist(self) -> list[Any]:
        """The rows as Python scalars (``None`` for missing)."""
        return list(self.to_objects().tolist())

    def counts(self) -> tuple[list[Any], list[int]]:
        """Distinct present values and their row counts (values with no rows left out)."""
        codes = self.codes
        counts = np.bincount(codes[codes >= 0], minlength=len(self.values))
        present = np.flatnonzero(counts)
        return self.values[present].tolist(), counts[present].tolist()

    @classmethod
    def concatenate(cls, parts: Sequence[CodedValues]) -> CodedValues:
        """One column of ``parts`` in order, over the union of their values."""
        if len(parts) == 1:
            return parts[0]
        index: dict[Any, int] = {}
        remapped = []
        for part in parts:
            mapping = np.array([index.setdefault(v, len(index)) for v in part.values.tolist()] + [-1], dtype=np.int64)
            remapped.append(mapping[part.codes])  # -1 picks the trailing -1: missing stays missing
        values = np.empty(len(index), dtype=object)
        values[:] = list(index)
        return cls(np.concatenate(remapped), values)
