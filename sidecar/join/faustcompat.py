"""The faust internals the joiner relies on, behind version guards: the stream's current event, the
RocksDB store's per-partition databases, and the app producer's aiokafka producer.

faust writes a table key to the changelog partition (and the RocksDB partition) of the *current event*,
a context variable that ``Stream`` sets while it iterates events one by one. ``Stream.take_events`` hands
the agent a list of events instead, and its body runs where that variable is unset, so a table write
there fails ("Cannot modify table outside of agent/stream"). The joiner takes batches because decoding
one message at a time costs it most of its throughput (benchmarks/join_throughput.py: 27 % of a
do-nothing faust app one event at a time; batches decode ten times cheaper per message). Its agents
use ``isolated_partitions``, so every event of a batch comes from the same partition, and
:func:`current_event_scope` sets faust's variable to the batch's last event while the batch is written.

:data:`BATCHES` is True only on the faust version this was checked against (:data:`TESTED_VERSION`) and
when the variable is where it was; otherwise the agents fall back to one event at a time with faust's
public API. ``tests/unit/join/test_faustcompat.py`` fails when the guard lets through a faust whose
tables do not see the event set here.

:func:`partition_databases` gives the joiner the RocksDB store's ``_db_for_partition``: a read through the
store's mapping API costs 6.8 us against 1.4 us on the partition's database, a write 8.3 against 6.0 (key
serialisation, a current-event lookup and an LRU key index under a lock on every call; measured with 100,000
keys); the joiner reads a batch with one multi-get there and writes it with one write batch. It is used
only on :data:`TESTED_VERSION`, with the rocksdict driver, where the method exists; otherwise (and for the
memory store) the joiner uses ``table.data``. Skipping the store's key index is safe: faust falls back to
searching every partition's database for a key it has not indexed (the sweep's deletes), and a key never
changes partition.

:func:`record_batches` gives the changelog outbox the aiokafka producer inside faust's (the private
``Producer._ensure_producer``), whose public batch API (``create_batch``, ``send_batch``) takes a
partition's records of a batch as one prebuilt record batch: faust's ``producer.send`` goes through a
coroutine, a metadata wait, the partitioner and a future for every record (measured: the per-record
sends cost about as much as the joiner's RocksDB writes). Only on :data:`TESTED_VERSION` with faust's
aiokafka driver and outside transactions (a transactional app produces through per-partition
transaction producers); otherwise the outbox sends record by record through faust's public API.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import faust
import faust.streams

__all__ = ["BATCHES", "TESTED_VERSION", "current_event_scope", "partition_databases", "record_batches"]

#: The faust-streaming release whose current-event variable this module sets.
TESTED_VERSION = "0.15.3"

_VAR: Any = getattr(faust.streams, "_current_event", None)

#: Whether the agents may take events in batches (see the module docstring).
BATCHES: bool = faust.__version__ == TESTED_VERSION and isinstance(_VAR, ContextVar)


@contextmanager
def current_event_scope(event: Any) -> Iterator[None]:
    """Make ``event`` faust's current event for the duration of the block (table writes use its partition)."""
    if not BATCHES:
        raise RuntimeError(f"faust {faust.__version__} is not {TESTED_VERSION}: batches are not supported")
    token = _VAR.set(weakref.ref(event))
    try:
        yield
    finally:
        _VAR.reset(token)


def partition_databases(table: Any) -> Callable[[int], Any] | None:
    """``partition -> rocksdict database`` of ``table``'s RocksDB store, or None where that is not the
    tested faust with the rocksdict driver (see the module docstring)."""
    if faust.__version__ != TESTED_VERSION:
        return None
    try:
        from faust.stores.rocksdb import Store as RocksDBStore
    except ImportError:  # rocksdict not installed: no RocksDB store
        return None
    store = table.data
    if not isinstance(store, RocksDBStore) or not getattr(store, "use_rocksdict", False):
        return None
    found = getattr(store, "_db_for_partition", None)
    return found if callable(found) else None


def record_batches(app: Any) -> Any | None:
    """The aiokafka producer behind ``app.producer`` (for ``create_batch`` / ``send_batch``), or None where
    that is not the tested faust with its aiokafka driver, the app runs in a transaction, or the producer
    has not started (see the module docstring)."""
    if faust.__version__ != TESTED_VERSION or app.in_transaction:
        return None
    from faust.transport.drivers.aiokafka import Producer

    producer = app.producer
    if not isinstance(producer, Producer):
        return None
    inner = getattr(producer, "_producer", None)
    if not (callable(getattr(inner, "create_batch", None)) and callable(getattr(inner, "send_batch", None))):
        return None
    return inner
