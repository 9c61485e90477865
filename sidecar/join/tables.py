"""The join's durable state: one keyed table, request id -> a compact binary entry.

One entry per request id holds whatever is known about it, so every question the joiner asks (is this
a duplicate? is the other half waiting?) is one key lookup, and a restart rebuilds everything from the
table alone (faust recovers it from its changelog topic, into memory or RocksDB).

Entries are ``struct``-packed, little-endian, so a pending prediction costs 19 bytes of value:

===========  ==========================================  ==============================
state        fields after ``state, partition``           meaning
===========  ==========================================  ==============================
PREDICTION   prediction time, score                      waits for its outcome
OUTCOME      outcome time, label                         waits for its prediction
JOINED       prediction time, score, outcome time, label  the pair (kept for re-evaluation)
===========  ==========================================  ==============================

The Kafka partition is kept in the entry because the periodic sweep deletes entries outside any stream
event, and a deletion must go to the changelog partition the key lives in.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from rocksdict import WriteBatch

from sidecar.join.changelog import ChangelogOutbox
from sidecar.join.faustcompat import partition_databases

__all__ = ["DictPairStore", "Entry", "FaustPairStore", "PairStore", "State", "decode_entry", "encode_entry",
           "pack_half", "pack_pair", "unpack_half"]


class State(IntEnum):
    """What an entry of the pair table holds."""

    PREDICTION = 1
    OUTCOME = 2
    JOINED = 3


_HALF = struct.Struct("<BHdd")
_FULL = struct.Struct("<BHdddd")


@dataclass(frozen=True, slots=True)
class Entry:
    """One decoded entry; the fields of the missing half are NaN."""

    state: State
    partition: int
    prediction_time: float
    score: float
    outcome_time: float
    label: float


def encode_entry(entry: Entry) -> bytes:
    """Pack ``entry`` (half entries for waiting and expired ones, full for joined pairs).

    Examples
    --------
    >>> e = Entry(State.PREDICTION, 0, 1.0e9, 0.75, float("nan"), float("nan"))
    >>> len(encode_entry(e)), decode_entry(encode_entry(e)).score
    (19, 0.75)
    """
    if entry.state is State.JOINED:
        return _FULL.pack(entry.state, entry.partition, entry.prediction_time, entry.score,
                          entry.outcome_time, entry.label)
    if entry.state is State.OUTCOME:
        return _HALF.pack(entry.state, entry.partition, entry.outcome_time, entry.label)
    return _HALF.pack(entry.state, entry.partition, entry.prediction_time, entry.score)


def decode_entry(raw: bytes) -> Entry:
    """Unpack what :func:`encode_entry` packed."""
    nan = float("nan")
    if len(raw) == _FULL.size:
        state, partition, pt, score, ot, label = _FULL.unpack(raw)
        return Entry(State(state), partition, pt, score, ot, label)
    state, partition, a, b = _HALF.unpack(raw)
    if state == State.OUTCOME:
        return Entry(State.OUTCOME, partition, nan, nan, a, b)
    return Entry(State(state), partition, a, b, nan, nan)


def pack_half(state: State, partition: int, when: float, value: float) -> bytes:
    """:func:`encode_entry` of a waiting half (``state`` PREDICTION or OUTCOME) without an :class:`Entry`:
    the joiner's hot path writes one per event."""
    return _HALF.pack(state, partition, when, value)


def pack_pair(partition: int, prediction_time: float, score: float, outcome_time: float, label: float) -> bytes:
    """:func:`encode_entry` of a joined pair without an :class:`Entry`."""
    return _FULL.pack(State.JOINED, partition, prediction_time, score, outcome_time, label)


def unpack_half(raw: bytes) -> tuple[int, float, float] | None:
    """``(state, time, value)`` of a waiting half's entry (the fields :func:`pack_half` packed), or None
    for a joined pair's.

    Examples
    --------
    >>> unpack_half(pack_half(State.OUTCOME, 7, 5.0, 1.0)) == (State.OUTCOME, 5.0, 1.0)
    True
    >>> unpack_half(pack_pair(0, 1.0, 0.5, 2.0, 1.0)) is None
    True
    """
    if len(raw) != _HALF.size:
        return None
    state, _partition, when, value = _HALF.unpack(raw)
    return state, when, value


class PairStore(Protocol):
    """Where entries live: the faust table in the app, a dict in tests of the join logic."""

    def get(self, key: bytes, partition: int | None = None) -> bytes | None:
        """The entry of ``key`` (in ``partition`` when the caller knows it) or None."""
        ...

    def delete(self, key: bytes, partition: int) -> None:
        """Remove an entry outside stream processing (the sweep), changelogged to ``partition``."""
        ...

    def get_many(self, keys: Sequence[bytes], partition: int) -> list[bytes | None]:
        """The entries of ``keys``, all of ``partition`` (None for a missing one), in order."""
        ...

    def set_many(self, items: Sequence[tuple[bytes, bytes]], partition: int) -> None:
        """Write entries, in order, while processing a batch of stream events of ``partition``."""
        ...

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every entry held by this worker."""
        ...


class DictPairStore:
    """A plain dict: the join logic's unit tests and benchmarks of it without faust."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes, partition: int | None = None) -> bytes | None:
        return self.data.get(key)

    def get_many(self, keys: Sequence[bytes], partition: int) -> list[bytes | None]:
        return [self.data.get(key) for key in keys]

    def set_many(self, items: Sequence[tuple[bytes, bytes]], partition: int) -> None:
        self.data.update(items)

    def delete(self, key: bytes, partition: int) -> None:
        self.data.pop(key, None)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(list(self.data.items()))


_UNRESOLVED = object()


class FaustPairStore:
    """A faust ``Table`` (raw bytes keys and values), its changelog written in batches.

    Reads and writes go to the table's store (``table.data``) directly, and every write queues its
    changelog record in ``outbox`` (:class:`~sidecar.join.changelog.ChangelogOutbox`), which the agents
    flush after each batch and the sweep after each slice. ``table[key] = value`` would changelog each
    record on its own through faust's producer buffer, and run the table's sensors on every get and set.
    A store write during stream processing goes to the RocksDB partition of faust's current event, which
    is the key's (isolated partitions); the sweep deletes outside any event, from every partition's
    database, and its tombstone goes to the partition recorded in the entry. A batch is read with one
    multi-get and written with one ``rocksdict.WriteBatch`` (a put costs about 2.9 us, a key in a write
    batch 0.5 us).
    """

    def __init__(self, table: Any, outbox: ChangelogOutbox | None = None) -> None:
        self.table = table
        self.outbox = outbox if outbox is not None else ChangelogOutbox(table)
        self._database: Any = _UNRESOLVED

    @property
    def database(self) -> Any:
        """RocksDB: ``partition -> database`` where faustcompat vouches for it (5x cheaper reads), else None.

        Resolved on first use: touching ``table.data`` before the app starts creates the store outside
        faust's start-up order, and the app then hangs when it stops.
        """
        if self._database is _UNRESOLVED:
            self._database = partition_databases(self.table)
        return self._database

    def get(self, key: bytes, partition: int | None = None) -> bytes | None:
        database = self.database
        if partition is not None and database is not None:
            value = database(partition).get(key)
        else:
            value = self.table.data.get(key)
        return None if value is None else bytes(value)

    def get_many(self, keys: Sequence[bytes], partition: int) -> list[bytes | None]:
        database = self.database
        if database is not None:
            found = database(partition).get(list(keys))  # one multi-get
        else:
            found = [self.table.data.get(key) for key in keys]
        return [None if value is None else bytes(value) for value in found]

    def set_many(self, items: Sequence[tuple[bytes, bytes]], partition: int) -> None:
        database = self.database
        if database is not None:
            batch = WriteBatch(raw_mode=True)  # one write (and one WAL append) for the batch, as faust's recovery
            for key, value in items:
                batch.put(key, value)
            database(partition).write(batch)
        else:
            data = self.table.data
            for key, value in items:
                data[key] = value
        put = self.outbox.put
        for key, value in items:
            put(partition, key, value)

    def delete(self, key: bytes, partition: int) -> None:
        try:
            del self.table.data[key]
        except KeyError:
            return
        self.outbox.put(partition, key, None)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        # A snapshot: callers may delete while they walk.
        return iter(list(self.table.data.items()))
