"""Tumbling windows: routing by timestamp, lateness, closing, and which offsets are safe to commit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sidecar.decoders import DecodedBatch
from sidecar.stats.profile import Profile, reference_profile
from sidecar.stream.windows import WindowSet

REF = reference_profile(pd.DataFrame({"x": np.arange(100.0)}))


def batch(ts: list[float], x: list[float] | None = None) -> DecodedBatch:
    n = len(ts)
    return DecodedBatch(
        columns={"x": np.asarray(x if x is not None else range(n), dtype=float)},
        timestamps=np.asarray(ts, dtype=float),
        request_ids=np.full(n, None, dtype=object),
        message_index=np.arange(n),
    )


def windows(lateness: float = 5.0) -> WindowSet:
    return WindowSet(lambda: Profile.empty(REF.specs), size=60.0, lateness=lateness)


def test_rows_go_to_the_window_of_their_timestamp() -> None:
    ws = windows()
    ws.add(batch([0, 30, 59.9, 60, 125]))
    assert {w.start: w.rows for w in ws.open.values()} == {0.0: 3, 60.0: 1, 120.0: 1}


def test_window_closes_when_stream_time_passes_end_plus_lateness() -> None:
    ws = windows(lateness=5)
    ws.add(batch([10, 20]))
    ws.add(batch([64.9]))
    assert ws.due() == []
    ws.add(batch([65.0]))
    (closed,) = ws.due()
    assert (closed.start, closed.end, closed.rows) == (0.0, 60.0, 2)
    assert ws.closed_until == 60.0


def test_rows_for_a_closed_window_are_late() -> None:
    ws = windows(lateness=0)
    ws.add(batch([10, 70]))
    ws.due()
    result = ws.add(batch([20, 30, 80]))
    assert (result.accepted, result.late) == (1, 2)
    assert ws.open[1].rows == 2


def test_committable_is_the_lowest_offset_an_open_window_holds() -> None:
    ws = windows(lateness=0)
    ws.add(batch([10, 20, 70]), partition="p0", message_offsets=np.array([100, 101, 102]))
    assert ws.committable("p0", next_offset=103) == 100
    ws.due()  # window 0 closes: its rows are evaluated, only window 1 still holds offset 102
    assert ws.committable("p0", next_offset=103) == 102
    assert ws.committable("p1", next_offset=7) == 7  # a partition no open window holds


def test_close_all_keeps_closed_until_so_later_rows_start_new_windows() -> None:
    ws = windows()
    ws.add(batch([10]))
    (w,) = ws.close_all()
    assert w.rows == 1 and math.isinf(ws.closed_until)
    assert ws.add(batch([11])).late == 0


def test_restored_closed_until_skips_replayed_rows() -> None:
    ws = WindowSet(lambda: Profile.empty(REF.specs), size=60, lateness=0, closed_until=60.0)
    result = ws.add(batch([10, 59, 61]))
    assert (result.accepted, result.late) == (1, 2)


def test_window_profile_equals_frame_profile() -> None:
    ws = windows()
    xs = [float(i % 37) for i in range(500)]
    for start in range(0, 500, 64):
        ws.add(batch([1.0] * len(xs[start : start + 64]), xs[start : start + 64]))
    whole = Profile.from_frame(pd.DataFrame({"x": xs}), REF.specs)
    assert ws.open[0].profile.columns["x"].hist.tolist() == whole.columns["x"].hist.tolist()


def test_small_windows_skip_the_checks_the_registry_says_need_rows() -> None:
    from sidecar.checks.base import CHECKS
    from sidecar.stream.topic import drift_checks

    assert set(drift_checks()) == set(CHECKS) - {"schema", "row_count"}


def test_a_window_waits_for_every_assigned_partition() -> None:
    # After a restart one partition's backlog is read first; the other's rows for the same windows are still
    # to come and must not be dropped as late.
    ws = WindowSet(lambda: Profile.empty(REF.specs), size=60.0, lateness=5.0, partition_idle=3600.0)
    ws.assign(["a", "b"])
    ws.add(batch([10, 20, 200, 300]), partition="a", message_offsets=np.arange(4))
    assert ws.due() == []  # partition b has said nothing yet
    added = ws.add(batch([15, 25, 310]), partition="b", message_offsets=np.arange(3))
    assert added.late == 0
    assert [(w.start, w.rows) for w in ws.due()] == [(0.0, 4), (180.0, 1)]  # both partitions are past them


def test_an_idle_partition_stops_holding_windows() -> None:
    ws = WindowSet(lambda: Profile.empty(REF.specs), size=60.0, lateness=5.0, partition_idle=1e-9)
    ws.assign(["a", "b"])  # b never sends: idle at once with this setting
    ws.add(batch([10, 100]), partition="a", message_offsets=np.arange(2))
    assert [w.start for w in ws.due()] == [0.0]


def test_without_partitions_the_largest_timestamp_is_the_stream_time() -> None:
    ws = windows()  # HTTP input: no partitions
    ws.add(batch([10, 100]))
    assert ws.watermark() == 100.0 and [w.start for w in ws.due()] == [0.0]
