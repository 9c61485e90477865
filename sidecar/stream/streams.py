"""The consumed topics as the sidecar knows them, and the contract that judges each, loaded once at start.

:func:`load_streams` reads the ``inputs`` and ``predictions`` sections: each names a topic and a contract
path (``dir/name`` for the newest version, or a file ``dir/name/vN.json``). The service, the engine and
the publisher then share the same :class:`StreamInfo` objects, so a contract is loaded (and its hash
checked) once per process, not by every part that reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sidecar.config import Settings, TopicSettings
from sidecar.contract import DataContract

__all__ = ["StreamInfo", "load_streams"]


@dataclass(frozen=True)
class StreamInfo:
    """One consumed topic as the service knows it: its role, settings and contract."""

    role: str
    settings: TopicSettings
    contract: DataContract

    @property
    def topic(self) -> str:
        """The Kafka topic name."""
        return self.settings.topic


def load_streams(settings: Settings, contracts: Mapping[str, DataContract] | None = None) -> dict[str, StreamInfo]:
    """Topic -> :class:`StreamInfo` for every configured role (``inputs``, ``predictions``).

    A contract given in ``contracts`` (by role) is used as it is; the others are loaded from their topic's
    ``contract`` path (raising ``ContractNotFoundError`` or ``ContractFileError`` naming it).
    """
    given = contracts or {}
    return {
        topic.topic: StreamInfo(role, topic, given.get(role) or DataContract.from_path(topic.contract))
        for role, topic in settings.topics
    }
