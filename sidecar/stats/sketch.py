"""Distinct counts from 64-bit value hashes: the HyperLogLog sketch and the exact hash set.

The sketch is mergeable (register-wise max) and fixed size (``2**precision`` bytes), so a window, a day and
a fleet of pods all estimate distinct counts the same way. The :class:`HashSet` counts exactly while a
window is small enough to keep one hash per value (a uniqueness check's stream windows, up to a row limit
its profile enforces). Both read the same hashes (:func:`hash_values`, ``pandas.util.hash_array``), so
numbers, strings and mixed object columns hash consistently in batch and streaming code, and a batch is
hashed once for both.
"""

from __future__ import annotations

import base64

import numpy as np

__all__ = ["HashSet", "HyperLogLog", "hash_values", "ranks_from_hashes", "register_ranks"]

_CHUNK = 1 << 16


def hash_values(values: np.ndarray) -> np.ndarray:
    """64-bit hashes (``uint64``) of ``values``: the one hash every distinct count here reads.

    Two distinct values collide with probability 2**-64, so among a million distinct values the chance of
    any collision is about 3e-8: a hash set of them counts exactly for every practical purpose.
    """
    import pandas as pd  # lazily: the sidecar's main loop imports this module but never hashes

    return pd.util.hash_array(values, categorize=False).astype(np.uint64, copy=False)


def ranks_from_hashes(h: np.ndarray, precision: int) -> tuple[np.ndarray, np.ndarray]:
    """Register index and rank of every hash (the vectorised core of a HyperLogLog update); ``h`` is left
    unchanged, so the caller can reuse it (for a :class:`HashSet`)."""
    p = precision
    idx = (h >> np.uint64(64 - p)).astype(np.intp)
    low = h & np.uint64((1 << (64 - p)) - 1)
    # rank = position of the leftmost 1-bit in the remaining 64-p bits (1-based). They are below 2**52, so
    # float64 holds them exactly and the biased exponent minus 1022 is floor(log2) + 1.
    exponent = (low.astype(np.float64).view(np.uint64) >> np.uint64(52)).astype(np.int16) - 1022
    rank = ((64 - p + 1) - exponent).astype(np.uint8)
    rank[low == 0] = 64 - p + 1
    return idx, rank


def register_ranks(values: np.ndarray, precision: int) -> tuple[np.ndarray, np.ndarray]:
    """Register index and rank of every value: :func:`ranks_from_hashes` of :func:`hash_values`."""
    return ranks_from_hashes(hash_values(values), precision)


class HyperLogLog:
    """A HyperLogLog sketch (Flajolet et al. 2007, with the small-range correction).

    Examples
    --------
    >>> h = HyperLogLog()
    >>> h.update(np.arange(1000.0))
    >>> 950 < h.estimate() < 1050
    True
    """

    __slots__ = ("precision", "registers")

    def __init__(self, precision: int = 12, registers: np.ndarray | None = None) -> None:
        self.precision = precision
        m = 1 << precision
        self.registers = np.zeros(m, dtype=np.uint8) if registers is None else registers.astype(np.uint8)

    def update(self, values: np.ndarray) -> None:
        """Add ``values`` (NaN/None must already be removed)."""
        if len(values) == 0:
            return
        values = np.asarray(values)
        for start in range(0, len(values), _CHUNK):  # bounded temporaries for any column length
            idx, rank = register_ranks(values[start : start + _CHUNK], self.precision)
            np.maximum.at(self.registers, idx, rank)

    def add_hashes(self, hashes: np.ndarray) -> None:
        """Add values given as their :func:`hash_values` (to hash a batch once for several counters)."""
        for start in range(0, len(hashes), _CHUNK):
            idx, rank = ranks_from_hashes(hashes[start : start + _CHUNK], self.precision)
            np.maximum.at(self.registers, idx, rank)

    def merge(self, other: HyperLogLog) -> HyperLogLog:
        """Return the union sketch."""
        if other.precision != self.precision:
            raise ValueError(f"cannot merge HyperLogLog sketches of precision {self.precision} and {other.precision}")
        return HyperLogLog(self.precision, np.maximum(self.registers, other.registers))

    def estimate(self) -> float:
        """Estimated number of distinct values added."""
        m = float(1 << self.precision)
        alpha = 0.7213 / (1.0 + 1.079 / m)
        regs = self.registers.astype(np.float64)
        raw = alpha * m * m / float(np.sum(np.exp2(-regs)))
        zeros = int(np.count_nonzero(self.registers == 0))
        if raw <= 2.5 * m and zeros:
            return m * float(np.log(m / zeros))
        return raw

    def to_str(self) -> str:
        """Compact text form for JSON files."""
        return base64.b64encode(self.registers.tobytes()).decode("ascii")

    @classmethod
    def from_str(cls, text: str, precision: int = 12) -> HyperLogLog:
        """Inverse of :meth:`to_str`."""
        regs = np.frombuffer(base64.b64decode(text), dtype=np.uint8).copy()
        if regs.size != (1 << precision):
            raise ValueError(f"HyperLogLog registers: expected {1 << precision} bytes, got {regs.size}")
        return cls(precision, regs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HyperLogLog) and np.array_equal(self.registers, other.registers)

    __hash__ = None  # type: ignore[assignment]


class HashSet:
    """Exact distinct count of the values added, kept as their 64-bit hashes (:func:`hash_values`).

    A monoid like the sketch (``HashSet()``, :meth:`add`, :meth:`merge`), but its memory grows with the
    values: 8 bytes per value added, so its owner bounds the rows it feeds in (see
    ``ColumnSpec.exact_distinct``). Adding only appends (small batches are gathered into chunks of
    :data:`CHUNK` hashes, so a window of one-row batches is not a million tiny arrays); :meth:`count` sorts
    and deduplicates once and keeps the result, so asking again costs nothing. Sorting as batches arrive
    would not save the final sort and would cost a tenth more per stream batch (measured), while the memory
    it could save is bounded by the row limit anyway.

    Examples
    --------
    >>> s = HashSet()
    >>> s.add(hash_values(np.array([1.0, 2.0, 2.0])), rows=3)
    >>> t = HashSet()
    >>> t.add(hash_values(np.array([2.0, 3.0])), rows=2)
    >>> u = s.merge(t)
    >>> u.count(), u.rows
    (3, 5)
    """

    __slots__ = ("_chunks", "_distinct", "_tail", "_tail_size", "rows")

    #: Hashes gathered into one array before it joins the chunks (512 KiB).
    CHUNK = 1 << 16
    #: ... or this many small arrays, whichever comes first.
    MAX_TAIL = 256

    def __init__(self) -> None:
        self._distinct = np.zeros(0, dtype=np.uint64)  # sorted, distinct: what the last count() compacted
        self._chunks: list[np.ndarray] = []  # added since, unsorted, maybe repeated
        self._tail: list[np.ndarray] = []  # small arrays not yet gathered into a chunk
        self._tail_size = 0
        #: Rows the hashes came from (non-missing values; a categorical batch adds each value once).
        self.rows = 0

    def add(self, hashes: np.ndarray, rows: int) -> None:
        """Add the ``hashes`` of a batch's ``rows`` non-missing values (repeats allowed; the array is kept,
        not copied, so pass one nobody else writes to)."""
        self.rows += rows
        if hashes.size == 0:
            return
        self._tail.append(hashes)
        self._tail_size += int(hashes.size)
        if self._tail_size >= self.CHUNK or len(self._tail) >= self.MAX_TAIL:
            self._chunks.append(np.concatenate(self._tail) if len(self._tail) > 1 else self._tail[0])
            self._tail, self._tail_size = [], 0

    def count(self) -> int:
        """How many distinct values were added."""
        if self._chunks or self._tail:
            self._distinct = _sorted_distinct(np.concatenate([self._distinct, *self._chunks, *self._tail]))
            self._chunks, self._tail, self._tail_size = [], [], 0
        return int(self._distinct.size)

    def merge(self, other: HashSet) -> HashSet:
        """A new set holding both (sorted lazily, on the next :meth:`count`)."""
        out = HashSet()
        out._distinct = self._distinct
        out._chunks = [*self._chunks, *self._tail, other._distinct, *other._chunks, *other._tail]
        out.rows = self.rows + other.rows
        return out

    @property
    def nbytes(self) -> int:
        """Memory held by the hashes."""
        return sum(int(a.nbytes) for a in (self._distinct, *self._chunks, *self._tail))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HashSet):
            return False
        self.count()
        other.count()
        return self.rows == other.rows and np.array_equal(self._distinct, other._distinct)

    __hash__ = None  # type: ignore[assignment]


def _sorted_distinct(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` for a 1-d array, by sorting in place and masking repeats: numpy 2.4's ``unique``
    takes 16x longer on 500,000 random 64-bit hashes (0.39 s against 0.024 s)."""
    a.sort()
    if a.size < 2:
        return a
    keep = np.empty(a.size, dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]
