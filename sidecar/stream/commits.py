"""What a Kafka commit carries, and the rebalance hook that rebuilds windows from committed offsets.

A commit's metadata is ``{"closed_until": t}``: the end of the last window that closed normally. After a
restart or a rebalance, rows of windows ending at or before ``t`` are skipped when they are replayed,
because they were counted (or dropped as late) before.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable

from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

__all__ = ["RebalanceForwarder", "closed_until_from", "commit_metadata"]


def commit_metadata(closed_until: float) -> str:
    """Metadata string stored with a commit.

    >>> commit_metadata(1800000060.0), commit_metadata(-math.inf)
    ('{"closed_until": 1800000060.0}', '{"closed_until": null}')
    """
    return json.dumps({"closed_until": closed_until if math.isfinite(closed_until) else None})


def closed_until_from(metadata: str | None) -> float:
    """Inverse of :func:`commit_metadata`; anything unreadable (another tool's commit) means "nothing closed".

    >>> closed_until_from('{"closed_until": 60.0}'), closed_until_from(None), closed_until_from("x")
    (60.0, -inf, -inf)
    """
    try:
        value = json.loads(metadata or "{}").get("closed_until")
    except (ValueError, AttributeError):
        return -math.inf
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else -math.inf


PartitionsHook = Callable[[set[TopicPartition]], Awaitable[None]]


class RebalanceForwarder(ConsumerRebalanceListener):  # type: ignore[misc]
    """Forwards aiokafka's rebalance callbacks to the service's coroutines."""

    def __init__(self, on_revoked: PartitionsHook, on_assigned: PartitionsHook) -> None:
        self._on_revoked = on_revoked
        self._on_assigned = on_assigned

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._on_assigned(assigned)
