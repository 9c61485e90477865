"""Keyed hashes of category values, so a contract can recognise rare values without storing them.

A contract never writes a raw value seen fewer than ``min_value_count`` times in the reference (customer
ids, e-mail addresses); the domain check still needs to know those values were seen. Each such value is
stored as an 8-byte BLAKE2b hash keyed per column. The key is derived from the column's HyperLogLog
registers, which depend on every reference value: the file is reproducible (saving the same reference
twice gives the same content) and its hashes cannot be matched against a table computed without the data.
They can still be tested against guessed values by whoever holds the file, as any hash of a small domain
can; keep contracts of secret data as secret as the data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["column_key", "value_hash", "value_hashes"]


def column_key(name: str, registers: np.ndarray) -> bytes:
    """The hashing key of one reference column."""
    return hashlib.blake2b(name.encode() + b"\0" + registers.tobytes(), digest_size=16).digest()


def _canonical(value: Any) -> bytes:
    # Type-tagged, so 1, 1.0, True and "1" stay different values, as they are everywhere else.
    if isinstance(value, np.generic):
        value = value.item()
    return f"{type(value).__name__}:{value!r}".encode()


def value_hash(key: bytes, value: Any) -> str:
    """Hex digest of ``value`` under ``key``.

    >>> value_hash(b"k" * 16, "a") == value_hash(b"k" * 16, "a") != value_hash(b"k" * 16, "b")
    True
    """
    return hashlib.blake2b(_canonical(value), key=key, digest_size=8).hexdigest()


def value_hashes(key: bytes, values: Iterable[Any]) -> list[str]:
    """:func:`value_hash` of each value."""
    return [value_hash(key, v) for v in values]
