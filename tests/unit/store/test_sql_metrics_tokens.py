"""The SQL store's production metric points and API tokens, on SQLite and on the session's PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlcases import T0

from sidecar.store.base import SCOPE_RANK, MetricPoint
from sidecar.store.sql import SqlStore
from sidecar.store.sql import tokens as token_codec
from sidecar.store.sql.schema import tokens

pytestmark = pytest.mark.timeout(120)
DAY = timedelta(days=1)


def _points(*pairs: tuple[int, float]) -> list[MetricPoint]:
    return [MetricPoint(time=T0 + d * DAY, value=v) for d, v in pairs]


async def test_metric_points_upsert_by_model_metric_kind_and_time(control_store: SqlStore) -> None:
    assert await control_store.put_metric_points("churn", "accuracy", "realized", _points((2, 0.8), (0, 0.9))) == 2
    # The same time again replaces the value; twice in one call, the last wins.
    assert await control_store.put_metric_points("churn", "accuracy", "realized",
                                                 _points((1, 0.85), (0, 0.91), (1, 0.86))) == 2
    await control_store.put_metric_points("churn", "accuracy", "estimated", _points((0, 0.7)))
    await control_store.put_metric_points("churn", "roc_auc", "realized", _points((0, 0.6)))
    await control_store.put_metric_points("other", "accuracy", "realized", _points((9, 0.1)))
    assert await control_store.put_metric_points("churn", "accuracy", "realized", []) == 0

    def values(found: list[dict[str, object]]) -> list[tuple[object, object, list[float]]]:
        return [(s["metric"], s["kind"], [p["value"] for p in s["points"]]) for s in found]  # type: ignore[attr-defined]

    assert values(await control_store.metric_points("churn")) == [
        ("accuracy", "estimated", [0.7]), ("accuracy", "realized", [0.91, 0.86, 0.8]), ("roc_auc", "realized", [0.6])]
    (series,) = await control_store.metric_points("churn", "accuracy", "realized")
    assert series["model"] == "churn" and [p["time"] for p in series["points"]] == [T0, T0 + DAY, T0 + 2 * DAY]
    assert values(await control_store.metric_points("churn", kind="estimated")) == [("accuracy", "estimated", [0.7])]
    assert values(await control_store.metric_points("churn", "accuracy", "realized", limit=2)) == [
        ("accuracy", "realized", [0.86, 0.8])]  # the newest two, oldest first
    assert values(await control_store.metric_points("churn", "accuracy", "realized", since=T0 + DAY,
                                                    until=T0 + 2 * DAY)) == [("accuracy", "realized", [0.86])]
    assert await control_store.metric_points("nobody") == []


async def test_a_metric_time_without_a_zone_is_utc(control_store: SqlStore) -> None:
    await control_store.put_metric_points("churn", "accuracy", "realized",
                                          [MetricPoint(time=T0.replace(tzinfo=None), value=0.5)])
    await control_store.put_metric_points("churn", "accuracy", "realized", [MetricPoint(time=T0, value=0.6)])
    (series,) = await control_store.metric_points("churn")
    assert series["points"] == [{"time": T0, "value": 0.6}]  # one time, not two


async def test_a_token_is_shown_once_stored_as_a_salted_hash_and_checked(control_store: SqlStore) -> None:
    token, info = await control_store.create_token("write", name="ci")
    assert info.scope == "write" and info.name == "ci" and info.revoked_at is None
    assert token.startswith("mhs_") and len(token) >= 4 + 16 + 43
    assert await control_store.check_token(token) == info
    async with control_store._started().reader.connect() as conn:
        row = (await conn.execute(select(tokens))).one()
    parsed = token_codec.parse_token(token)
    assert parsed is not None and parsed[0] == info.id == row.id
    secret = parsed[1].encode()
    assert secret not in row.hash and secret not in row.salt  # 43 characters: no chance match
    assert row.hash == token_codec.hash_secret(parsed[1], row.salt)
    other, _ = await control_store.create_token("read")
    assert (await control_store.check_token(other)) is not None
    assert (await control_store.check_token(other)).scope == "read"  # type: ignore[union-attr]


@pytest.mark.parametrize("scope", sorted(SCOPE_RANK))
async def test_each_scope_is_stored_as_given(control_store: SqlStore, scope: str) -> None:
    token, _ = await control_store.create_token(scope)  # type: ignore[arg-type]
    found = await control_store.check_token(token)
    assert found is not None and found.scope == scope


async def test_a_wrong_malformed_or_revoked_token_is_refused(control_store: SqlStore) -> None:
    token, info = await control_store.create_token("admin")
    prefix, token_id, secret = token.split("_", 2)
    wrong_secret = f"{prefix}_{token_id}_{'A' * 43}"
    unknown_id = f"{prefix}_{'0' * 16}_{secret}"
    for bad in (wrong_secret, unknown_id, "", "Bearer " + token, token + "x", token.upper(), secret):
        assert await control_store.check_token(bad) is None, bad
    assert await control_store.revoke_token(info.id) is True
    assert await control_store.check_token(token) is None
    (listed,) = await control_store.list_tokens()
    assert listed.id == info.id and listed.revoked_at is not None
    assert await control_store.revoke_token(info.id) is True  # again: still revoked, first time kept
    assert (await control_store.list_tokens())[0].revoked_at == listed.revoked_at
    assert await control_store.revoke_token("0" * 16) is False
    with pytest.raises(ValueError, match="scope"):
        await control_store.create_token("root")  # type: ignore[arg-type]
