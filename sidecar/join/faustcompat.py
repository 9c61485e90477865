"""The one faust internal the joiner relies on, behind a version guard: the stream's current event.

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
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import faust
import faust.streams

__all__ = ["BATCHES", "TESTED_VERSION", "current_event_scope"]

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
