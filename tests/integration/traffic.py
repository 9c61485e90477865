"""Test traffic: churn-model rows as Kafka messages and KServe CloudEvents, and the contract they meet."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from aiokafka import AIOKafkaProducer

from sidecar import DataContract, ValidationReport
from sidecar.demo.data import churn_frame

#: Aligned to every window size the tests use, so window boundaries are round numbers.
T0 = 1_800_000_000.0


def make_contract(directory: Path) -> DataContract:
    reference = churn_frame(5000, seed=1)  # held: the -1 sentinel is counted on it (contracts keep no rows)
    contract = DataContract("churn_inputs", reference)
    contract.special_value_test.configure(["monthly_spend"], thresholds={math.nan: 0.05, -1: 0.05})
    contract.min_max_test.configure(["age"], lower_bound=18, upper_bound=100)
    contract.domain_test.configure(["plan", "country"])
    contract.save(directory)
    return contract


def row_values(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = df.copy()
    out["signup_date"] = out["signup_date"].map(lambda t: t.isoformat() + "Z")
    return out.astype(object).where(out.notna(), None).to_dict("records")


def record_messages(df: pd.DataFrame, start: float, step: float = 0.01, prefix: str = "r") -> list[bytes]:
    """One ``record``-format message per row, timestamps ``start + i * step``."""
    return [orjson.dumps({"request_id": f"{prefix}{i}", "timestamp": start + i * step, "values": v})
            for i, v in enumerate(row_values(df))]


async def produce(bootstrap: str, topic: str, values: list[bytes | None],
                  headers: list[list[tuple[str, bytes]]] | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        for i, v in enumerate(values):
            # A tombstone (None value) needs a key to be produced at all.
            await producer.send(topic, v, key=b"k" if v is None else None, headers=headers[i] if headers else None)
        await producer.flush()
    finally:
        await producer.stop()


def check_values(report: ValidationReport) -> dict[tuple[str, str], float | None]:
    """(check, feature) -> the value the metrics export (the largest of a feature's rows)."""
    out: dict[tuple[str, str], float | None] = {}
    for r in report.results:
        key = (r.check, r.column if r.column is not None else "*")
        if r.value is not None:
            prev = out.get(key)
            out[key] = r.value if prev is None else max(prev, r.value)
        else:
            out.setdefault(key, None)
    return out


def sidecar_config(bootstrap: str, topic: str, contracts: Path, store: Path, **window: Any) -> dict[str, Any]:
    return {
        "model": "churn",
        "kafka": {"bootstrap_servers": bootstrap, "group_id": f"g-{topic}", "fetch_max_wait_ms": 50},
        "inputs": {"topic": topic, "contract": str(contracts / "churn_inputs"), "format": "auto"},
        "window": {"size_seconds": 60, "lateness_seconds": 2, "min_rows": 50, "idle_close_seconds": None, **window},
        "store": {"path": str(store)},
        "alerts": {"topic": None},
    }
