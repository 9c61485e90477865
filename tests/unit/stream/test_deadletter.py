"""Dead-letter settling without a broker: permanent failures are quarantined and counted, retriable ones
are sent again and hold the commit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError, RequestTimedOutError

from sidecar.stream.deadletter import DeadLetter, DeadLetterSender, Quarantine, is_permanent


def _copy(offset: int, value: bytes = b"x" * 10) -> DeadLetter:
    return DeadLetter("t.dlq", value, None, [("h", b"v")], "t", 0, offset)


class _Producer:
    """Answers each send with the next scripted outcome (an exception class or None for success)."""

    def __init__(self, outcomes: list[type[BaseException] | None]) -> None:
        self.outcomes = outcomes
        self.sent: list[bytes | None] = []

    async def send(self, topic: str, value: bytes | None = None, **kwargs: Any) -> asyncio.Future[None]:
        self.sent.append(value)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        outcome = self.outcomes.pop(0)
        if outcome is None:
            future.set_result(None)
        else:
            future.set_exception(outcome("scripted"))
        return future


def test_classification() -> None:
    assert is_permanent(MessageSizeTooLargeError())
    assert not is_permanent(KafkaConnectionError()) and not is_permanent(RequestTimedOutError())
    assert not is_permanent(RuntimeError("unknown: retried, never skipped"))


async def test_permanent_failures_are_quarantined_and_retriable_ones_retried(tmp_path: Path) -> None:
    counted: list[tuple[int | None, str]] = []
    sender = DeadLetterSender(Quarantine(tmp_path), on_permanent=lambda c, r: counted.append((c.offset, r)))
    producer = _Producer([None, MessageSizeTooLargeError, KafkaConnectionError, None])
    for offset in (1, 2, 3):
        sender.send(producer, _copy(offset))  # type: ignore[arg-type]
    retry = await sender.settle(producer)  # type: ignore[arg-type]
    assert [c.offset for c, _ in retry] == [3] and counted == [(2, "MessageSizeTooLargeError")]
    assert sender.pending == 1  # the retriable copy was sent again
    assert await sender.settle(producer) == []  # type: ignore[arg-type]
    meta = json.loads((tmp_path / "t" / "0-2.json").read_text())
    assert meta["reason"].startswith("MessageSizeTooLargeError") and meta["offset"] == 2 and meta["value_kept"]
    assert (tmp_path / "t" / "0-2.bin").read_bytes() == b"x" * 10


def test_quarantine_is_bounded(tmp_path: Path) -> None:
    q = Quarantine(tmp_path, max_bytes=25)
    q.put(_copy(1), "r")
    q.put(_copy(2), "r")
    q.put(_copy(3), "r")  # 30 bytes would pass the bound: only its metadata is kept
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["0-1.bin", "0-1.json", "0-2.bin", "0-2.json",
                                                                  "0-3.json"]
    assert json.loads((tmp_path / "t" / "0-3.json").read_text())["value_kept"] is False
    assert Quarantine(tmp_path, max_bytes=25).used_bytes() == 20  # read back from disk after a restart


def test_http_copies_get_unique_names(tmp_path: Path) -> None:
    q = Quarantine(tmp_path)
    a = q.put(DeadLetter("t.dlq", b"a", None, [], "t", None, None), "r")
    b = q.put(DeadLetter("t.dlq", b"b", None, [], "t", None, None), "r")
    assert a != b and a.name.startswith("http-")


@pytest.mark.parametrize("error", [OSError("disk full")])
async def test_a_quarantine_that_cannot_write_still_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           error: OSError) -> None:
    q = Quarantine(tmp_path)
    monkeypatch.setattr(q, "put", lambda copy, reason: (_ for _ in ()).throw(error))
    counted: list[str] = []
    sender = DeadLetterSender(q, on_permanent=lambda c, r: counted.append(r))
    producer = _Producer([MessageSizeTooLargeError])
    sender.send(producer, _copy(7))  # type: ignore[arg-type]
    assert await sender.settle(producer) == [] and counted == ["MessageSizeTooLargeError"]  # type: ignore[arg-type]
