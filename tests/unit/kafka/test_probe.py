"""KafkaProbe: ``model_health_kafka_up`` follows what the brokers answer, through the admin client it is given."""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaConnectionError

from sidecar.kafka.probe import KafkaProbe


class _Gauge:
    def __init__(self) -> None:
        self.values: list[float] = []

    def set(self, value: float) -> None:
        self.values.append(value)


class _Counter:
    def __init__(self) -> None:
        self.count = 0.0

    def inc(self, amount: float = 1) -> None:
        self.count += amount


class _Admin:
    """Answers while ``up``; else fails as aiokafka does when no broker answers."""

    def __init__(self) -> None:
        self.up = True
        self.calls = 0

    async def describe_cluster(self) -> dict[str, object]:
        self.calls += 1
        if not self.up:
            raise KafkaConnectionError("no broker")
        return {"brokers": []}


async def _until(condition: object, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.005)


async def test_the_gauge_follows_the_broker_and_failures_are_counted() -> None:
    up, errors, admin = _Gauge(), _Counter(), _Admin()
    probe = KafkaProbe(up, errors, interval_seconds=0.01)
    async with probe:
        await asyncio.sleep(0.05)
        assert admin.calls == 0 and up.values == [], "nothing is probed without an admin client"
        probe.admin = admin  # type: ignore[assignment]
        await _until(lambda: probe.connected)
        assert up.values[-1] == 1
        admin.up = False
        await _until(lambda: not probe.connected)
        assert up.values[-1] == 0 and errors.count >= 1
        admin.up = True
        await _until(lambda: probe.connected)
    calls = admin.calls
    await asyncio.sleep(0.05)
    assert admin.calls == calls, "a stopped probe probes no more"
    await probe.stop()  # twice is fine


async def test_set_connected_is_what_the_owner_of_the_clients_learnt() -> None:
    up = _Gauge()
    probe = KafkaProbe(up, _Counter())
    probe.set_connected(True)
    probe.set_connected(False)
    assert up.values == [1, 0] and not probe.connected

