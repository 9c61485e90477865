"""The shared-memory ring's allocator: regions never overlap, and freeing oldest-first always makes room."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.stream.ring import RingAllocator, SharedRing


@given(size=st.integers(1, 64), ops=st.lists(st.one_of(st.integers(1, 70), st.none()), max_size=60))
def test_regions_in_use_never_overlap_and_an_empty_ring_takes_anything_that_fits(size: int, ops: list) -> None:
    ring = RingAllocator(size)
    live: list[tuple[int, int]] = []
    for op in ops:
        if op is None:
            if live:
                ring.release()
                live.pop(0)
            continue
        start = ring.take(op)
        if start is None:
            assert op > size or live, "an empty ring refused a region that fits"
            continue
        region = (start, start + op)
        assert region[0] >= 0 and region[1] <= size
        assert all(region[1] <= a or b <= region[0] for a, b in live), (region, live)
        live.append(region)
    while live:  # releasing everything always gets back to a ring that takes its full size
        ring.release()
        live.pop(0)
    assert ring.take(size) == 0


def test_a_region_larger_than_the_ring_is_refused() -> None:
    with pytest.raises(ValueError):
        RingAllocator(0)
    assert RingAllocator(8).take(9) is None


def test_shared_ring_is_visible_through_its_descriptor() -> None:
    ring = SharedRing(4096)
    other = SharedRing(4096, fd=os.dup(ring.fd))  # what the worker does with the descriptor it receives
    try:
        ring.write(100, b"hello")
        assert bytes(other.read(100, 5)) == b"hello"
    finally:
        other.close()
        ring.close()


def test_without_memfd_an_unlinked_file_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "memfd_create")
    ring = SharedRing(4096)
    try:
        ring.write(0, b"abc")
        assert bytes(ring.read(0, 3)) == b"abc" and os.fstat(ring.fd).st_nlink == 0
    finally:
        ring.close()
