"""The delivery ledger without a broker: safe offsets, window boundaries in the metadata, replay starts."""

from __future__ import annotations

import math

from aiokafka import TopicPartition

from sidecar.stream.commits import closed_until_from
from sidecar.stream.engine import Outcome
from sidecar.stream.ledger import COMMIT_INTERVAL_SECONDS, DeliveryLedger

A0, A1, B0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)


def _outcome(commits: dict, closed_until: dict, closed: list | None = None) -> Outcome:
    return Outcome(ingested=None, closed=closed or [], commits=commits, closed_until=closed_until, open_windows={})


def test_offsets_are_the_engines_safe_offsets_for_held_partitions_with_the_window_boundary() -> None:
    ledger = DeliveryLedger(["a", "b"])
    assert ledger.closed_until == {"a": -math.inf, "b": -math.inf}
    ledger.apply(_outcome({A0: 10, A1: 3, B0: 7, "http": 5}, {"a": 1_800_000_060.0, "b": -math.inf}))
    offsets = ledger.offsets([A0, B0])  # A1 was revoked meanwhile: not ours to commit
    assert {tp: om.offset for tp, om in offsets.items()} == {A0: 10, B0: 7}
    assert closed_until_from(offsets[A0].metadata) == 1_800_000_060.0
    assert closed_until_from(offsets[B0].metadata) == -math.inf


def test_a_closed_window_makes_a_commit_due_at_once() -> None:
    ledger = DeliveryLedger(["a"])
    ledger.committing(now=100.0)
    assert not ledger.commit_due(now=101.0)
    ledger.apply(_outcome({A0: 1}, {"a": 0.0}, closed=["a window"]))
    assert ledger.commit_due(now=101.0)
    ledger.committing(now=101.0)
    assert not ledger.commit_due(now=101.0 + COMMIT_INTERVAL_SECONDS - 0.1)
    assert ledger.commit_due(now=101.0 + COMMIT_INTERVAL_SECONDS)  # dead letters and late rows move on too


def test_forgetting_the_windows_leaves_nothing_to_commit() -> None:
    ledger = DeliveryLedger(["a"])
    ledger.apply(_outcome({A0: 10}, {"a": 0.0}))
    ledger.forget_windows()
    assert ledger.offsets([A0]) == {}


def test_replay_starts_at_the_commit_or_the_first_offset_read() -> None:
    ledger = DeliveryLedger(["a", "b"])
    ledger.saw(A0, 40)
    ledger.saw(A0, 45)  # only the first read counts
    ledger.saw(A1, 12)
    starts = ledger.replay_starts({A0: None, A1: 20, B0: None})
    assert starts == {A0: 40, A1: 20}  # B0: never read, no commit: left where the consumer puts it
    assert ledger.replay_position(A1, fallback=99) == 20 and ledger.replay_position(B0, fallback=99) == 99
    assert ledger.replay_starts({A0: 0}) == {A0: 40}  # committed 0 and read from 40: from 40
    assert DeliveryLedger(["a"]).replay_starts({A0: 0}) == {A0: 0}
