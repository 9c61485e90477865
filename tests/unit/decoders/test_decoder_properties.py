"""Property: decoding a batch in two parts gives the same rows, errors and counts as decoding it whole.

This is what lets the consumer decode per partition or per ``getmany`` call without changing a number, and
it catches any state leaking between messages of a batch (fallbacks, row offsets, format grouping, the
Arrow and Python datetime parsers).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.decoders import DecodedBatch, DecoderOptions, RawMessage, make_decoder
from sidecar.decoders.dispatch import prepare
from sidecar.decoders.typed import typed_model
from sidecar.stats.kinds import ColumnKind

SCHEMA = {
    "age": ColumnKind.NUMERIC,
    "plan": ColumnKind.CATEGORICAL,
    "active": ColumnKind.BOOLEAN,
    "signup": ColumnKind.DATETIME,
}
NOW = 1_700_000_000.0

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
)
times = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "2026-11-26T10:00:00Z",
            "2026-11-26T10:00:00.25+02:00",
            "2026-11-26T10:00:00",  # no offset: Arrow refuses, Python takes it as UTC
            "2026-11-26",
            "not a time",
        ]
    ),
    st.integers(0, 2_000_000_000),
    st.floats(-1e12, 1e12),
)
names = st.sampled_from(["age", "plan", "active", "signup", "extra"])


def column_values(name: str, n: int) -> st.SearchStrategy[list[Any]]:
    return st.lists(times if name == "signup" else scalars, min_size=n, max_size=n)


@st.composite
def values(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(names, unique=True, max_size=5))
    return {key: draw(times if key == "signup" else scalars) for key in keys}


@st.composite
def bodies(draw: st.DrawFn) -> bytes | None:
    kind = draw(st.sampled_from(["record", "flat", "columns", "oip", "arrow", "broken"]))
    meta: dict[str, Any] = {}
    if draw(st.booleans()):
        meta["request_id"] = draw(st.one_of(st.text(max_size=3), st.integers(0, 9), st.just([1])))
    if draw(st.booleans()):
        meta["timestamp"] = draw(times)
    if kind == "record":
        return orjson.dumps({**meta, "values": draw(values())})
    if kind == "flat":
        return orjson.dumps({**draw(values()), **meta})
    if kind == "columns":
        n = draw(st.integers(0, 4))
        keys = draw(st.lists(names, unique=True, max_size=4))
        columns = {key: draw(column_values(key, n)) for key in keys}
        return orjson.dumps({**meta, "columns": columns})
    if kind == "oip":
        n = draw(st.integers(1, 3))
        tensor = {"name": "age", "shape": [n], "datatype": "FP64", "data": draw(column_values("age", n))}
        return orjson.dumps({"id": "o", "inputs": [tensor]})
    if kind == "arrow":
        n = draw(st.integers(0, 3))
        table = pa.table(
            {
                "age": pa.array(draw(st.lists(st.floats(allow_nan=False), min_size=n, max_size=n)), pa.float64()),
                "plan": pa.array(draw(st.lists(st.text(max_size=2) | st.none(), min_size=n, max_size=n)), pa.string()),
            }
        )
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return bytes(sink.getvalue().to_pybytes())
    return draw(st.sampled_from([None, b"", b"{", b"[1]", b"\x00x", b'{"values": 3, "columns": []}']))


@st.composite
def messages(draw: st.DrawFn) -> RawMessage:
    headers: list[tuple[str, bytes]] = []
    if draw(st.booleans()):
        headers.append(("ce_id", draw(st.sampled_from([b"ce-1", b"ce-2"]))))
    if draw(st.booleans()):
        good = [b"2026-11-26T10:00:00Z", b"2026-11-26T11:00:00+01:00", b"2026-11-26T10:00:00.5Z"]
        headers.append(("ce_time", draw(st.sampled_from([*good, b"garbage"]))))
    timestamp_ms = draw(st.one_of(st.none(), st.integers(0, 2_000_000_000_000)))
    return RawMessage(draw(bodies()), headers=tuple(headers), timestamp_ms=timestamp_ms)


def tagged(values: np.ndarray) -> list[tuple[str, Any]]:
    """Values with their types, so 1, 1.0 and True (equal in Python) count as different."""
    return [(type(v).__name__, v) for v in values.tolist()]


def assert_same(whole: DecodedBatch, parts: DecodedBatch) -> None:
    assert whole.columns.keys() == parts.columns.keys()
    for name, column in whole.columns.items():
        if column.dtype == object:
            assert tagged(column) == tagged(parts.columns[name]), name
        else:
            assert column.tobytes() == parts.columns[name].tobytes(), name  # bit for bit, NaN included
    assert whole.timestamps.tobytes() == parts.timestamps.tobytes()
    assert tagged(whole.request_ids) == tagged(parts.request_ids)
    assert whole.message_index.tolist() == parts.message_index.tolist()
    assert whole.errors == parts.errors
    assert whole.unknown_columns == parts.unknown_columns


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(messages(), max_size=12), data=st.data(), fmt=st.sampled_from(["auto", "flat", "record"]))
def test_a_batch_split_in_two_decodes_to_the_concatenation(
    batch: list[RawMessage], data: st.DataObject, fmt: str
) -> None:
    split = data.draw(st.integers(0, len(batch)), label="split")
    decoder = make_decoder(fmt, SCHEMA, now=lambda: NOW)
    whole = decoder.decode(batch)
    first = decoder.decode(batch[:split])
    second = decoder.decode(batch[split:]).shifted(split)
    assert_same(whole, DecodedBatch.concat([first, second], SCHEMA))
    assert {error.index for error in whole.errors}.isdisjoint(whole.message_index.tolist())


KEYS = [
    "age", "plan", "active", "signup", "values", "columns", "inputs", "outputs", "instances", "predictions",
    "name", "shape", "data", "datatype", "id", "request_id", "timestamp", "specversion", "data_base64", "time",
]  # fmt: skip
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=4),
    max_leaves=25,
)
any_body = st.one_of(
    st.none(),
    st.binary(max_size=40),
    json_values.map(orjson.dumps),
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5).map(orjson.dumps),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bodies=st.lists(any_body, max_size=8),
    fmt=st.sampled_from(["auto", "record", "flat", "columns", "oip", "arrow"]),
    content_type=st.sampled_from([None, b"application/json", b"application/cloudevents+json", b"text/csv"]),
)
def test_decode_never_raises_and_accounts_for_every_message(
    bodies: list[bytes | None], fmt: str, content_type: bytes | None
) -> None:
    headers = (("content-type", content_type),) if content_type else ()
    batch = make_decoder(fmt, SCHEMA, now=lambda: NOW).decode([RawMessage(body, headers=headers) for body in bodies])
    rejected = [error.index for error in batch.errors]
    assert len(rejected) == len(set(rejected))
    assert set(rejected).isdisjoint(batch.message_index.tolist())
    assert all(0 <= index < len(bodies) for index in rejected)
    assert all(error.error_class and error.reason for error in batch.errors)
    for column in batch.columns.values():
        assert column.shape == (batch.n_rows,)


# -- the typed fast path (decoders/typed.py) against the general path -----------------------------------
edgy_scalars = st.one_of(
    scalars,
    st.sampled_from([10**30, 2**64, -(2**70), 1e301, -1e301, 1e300, 5e-324, -0.0, "", "1", [], {}, [1], {"a": 1}]),
)
edgy_times = st.one_of(times, st.sampled_from([10**30, 1e13, -1e13, True, [1], {"t": 1}]))
metas = st.one_of(
    st.none(), st.text(max_size=3), st.integers(0, 9), st.floats(allow_nan=False), st.booleans(),
    st.lists(st.one_of(st.none(), st.text(max_size=2), st.integers(0, 3)), max_size=4),
)


def edgy(name: str) -> st.SearchStrategy[Any]:
    return edgy_times if name == "signup" else edgy_scalars


@st.composite
def shaped_bodies(draw: st.DrawFn, fmt: str) -> bytes:
    """A body of ``fmt``'s own shape, most of them valid, with every kind of value that must be refused."""
    meta: dict[str, Any] = {}
    for key in ("request_id", "timestamp"):
        if draw(st.booleans()):
            meta[key] = draw(metas if key == "request_id" else edgy_times)
    if draw(st.integers(0, 9)) == 0:
        meta["specversion"] = draw(st.sampled_from(["1.0", None]))
    if draw(st.integers(0, 19)) == 0:
        meta["values"] = draw(st.sampled_from([{"age": 1}, "x", None]))
    keys = draw(st.lists(names, unique=True, max_size=5))
    if fmt == "columns":
        n = draw(st.integers(0, 4))
        columns: dict[str, Any] = {}
        for key in keys:
            length = n if draw(st.integers(0, 9)) else n + 1
            columns[key] = draw(st.one_of(
                st.lists(edgy(key), min_size=length, max_size=length),
                st.sampled_from([None, 3, "x", {}]),
            )) if draw(st.integers(0, 9)) == 0 else draw(st.lists(times if key == "signup" else scalars,
                                                                   min_size=length, max_size=length))
        return _dumps({**meta, "columns": columns})
    row = {key: draw(edgy(key) if draw(st.integers(0, 4)) == 0 else (times if key == "signup" else scalars))
           for key in keys}
    if fmt == "record":
        return _dumps({**meta, "values": row if draw(st.integers(0, 9)) else draw(edgy_scalars)})
    return _dumps({**row, **meta})


def _dumps(obj: Any) -> bytes:
    # The standard library writes integers beyond 64 bits, which orjson refuses.
    return json.dumps(obj).encode()


header_sets = st.sampled_from([
    (), (), (("request_id", b"h-1"),), (("ce_id", b"ce-1"), ("ce_time", b"2026-11-26T10:00:00Z")),
    (("content-type", b"application/json"),), (("content-type", b"application/cloudevents+json"),),
    (("content-type", b"application/vnd.apache.arrow.stream"),),
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), fmt=st.sampled_from(["record", "flat", "columns", "auto"]))
def test_the_typed_fast_path_decodes_every_message_as_the_general_path_does(data: st.DataObject, fmt: str) -> None:
    formats = ["record", "flat", "columns"] if fmt == "auto" else [fmt]
    shapes = st.sampled_from(formats).flatmap(shaped_bodies)
    if fmt == "auto":
        shapes |= oip_bodies()
    bodies = data.draw(st.lists(shapes | any_body, max_size=10), label="bodies")
    headers = data.draw(st.lists(header_sets, min_size=len(bodies), max_size=len(bodies)), label="headers")
    batch = [RawMessage(body, headers=h, timestamp_ms=1_000 * i)
             for i, (body, h) in enumerate(zip(bodies, headers, strict=True))]
    typed = make_decoder(fmt, SCHEMA, now=lambda: NOW)
    general = make_decoder(fmt, SCHEMA, now=lambda: NOW)
    assert typed.typed  # type: ignore[attr-defined]
    general.typed = {} if fmt == "auto" else None  # type: ignore[attr-defined]
    assert_same(typed.decode(batch), general.decode(batch))


OIP_COLUMNS = {"wide": ["age", "plan"]}


@st.composite
def oip_bodies(draw: st.DrawFn) -> bytes:
    """KServe V2 bodies, mostly of the shape the typed path takes, with every way to leave it."""
    def tensor() -> dict[str, Any]:
        name = draw(st.sampled_from(["age", "plan", "wide", "signup", "x", ""]))
        shape = draw(st.sampled_from([[1], [2], [1, 2], [2, 2], [3], [1, 1], [0], [-1], [2, 1], []]))
        size = max(0, int(np.prod(shape))) if shape else 1
        if draw(st.integers(0, 9)) == 0:
            size += 1
        data: Any = draw(st.lists(edgy(name) if draw(st.integers(0, 4)) == 0 else scalars,
                                  min_size=size, max_size=size))
        if len(shape) == 2 and shape[0] > 0 and draw(st.integers(0, 4)) == 0 and len(data) == shape[0] * shape[1]:
            data = [data[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])]  # nested, as V2 allows
        out: dict[str, Any] = {"name": name, "shape": shape, "datatype": "FP64", "data": data}
        if draw(st.integers(0, 9)) == 0:
            del out[draw(st.sampled_from(["name", "shape", "data"]))]
        return out

    body: dict[str, Any] = {}
    for key in ("inputs", "outputs"):
        if draw(st.integers(0, 2)):
            body[key] = [tensor() for _ in range(draw(st.integers(0, 3)))]
    for key, values in (("id", metas), ("request_id", metas), ("timestamp", edgy_times)):
        if draw(st.booleans()):
            body[key] = draw(values)
    if draw(st.integers(0, 19)) == 0:
        body[draw(st.sampled_from(["instances", "specversion", "parameters", "values", "columns"]))] = draw(
            st.one_of(metas, st.just({"age": 1}), st.just({"age": [1]}))
        )
    return _dumps(body)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies=st.lists(oip_bodies() | any_body, max_size=10))
def test_the_typed_oip_path_decodes_every_message_as_the_general_path_does(bodies: list[bytes | None]) -> None:
    batch = [RawMessage(body, timestamp_ms=1_000 * i) for i, body in enumerate(bodies)]
    typed = make_decoder("oip", SCHEMA, oip_columns=OIP_COLUMNS, now=lambda: NOW)
    general = make_decoder("oip", SCHEMA, oip_columns=OIP_COLUMNS, now=lambda: NOW)
    assert typed.typed is not None  # type: ignore[attr-defined]
    general.typed = None  # type: ignore[attr-defined]
    assert_same(typed.decode(batch), general.decode(batch))


def test_typical_oip_requests_take_the_typed_path() -> None:
    decoder = make_decoder("oip", SCHEMA, oip_columns=OIP_COLUMNS)
    one = b'{"id": "r1", "inputs": [{"name": "wide", "shape": [1, 2], "datatype": "BYTES", "data": [41, "pro"]}]}'
    two = (b'{"id": "r2", "inputs": [{"name": "wide", "shape": [2, 2], "datatype": "BYTES", "data": [1, "a", 2, "b"]},'
           b' {"name": "active", "shape": [2], "datatype": "BOOL", "data": [true, false]}]}')
    prepared = prepare([RawMessage(one), RawMessage(two)], "oip", {"oip": decoder.typed})  # type: ignore[attr-defined]
    assert prepared.typed_groups["oip"][0] == [0, 1]
    batch = decoder.decode([RawMessage(one), RawMessage(two)])
    assert batch.columns["age"].tolist() == [41.0, 1.0, 2.0]
    assert batch.columns["plan"].tolist() == ["pro", "a", "b"]
    assert batch.columns["active"].tolist() == [None, True, False]
    assert batch.request_ids.tolist() == ["r1", "r2", "r2"]


def _tensor(name: str, shape: list[int], data: list[Any]) -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": "BYTES", "data": data}


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": [_tensor("age", [1], [1]), _tensor("wide", [1, 2], [2, "x"])]},  # age given twice
        {"inputs": [_tensor("age", [2, -1, -1], [1, 2])]},  # negative sizes (their product is positive)
        {"inputs": [_tensor("age", [1], [1]), _tensor("plan", [2], ["a", "b"])]},  # rows disagree
        {"inputs": [_tensor("age", [1], [1])], "outputs": [{"name": "score"}]},  # requested outputs
        {"inputs": [_tensor("wide", [2, 2], [[1, "a"], [2, "b"]])]},  # nested data
        {"inputs": [_tensor("x", [1], [1])]},  # a tensor the contract does not have
        {"inputs": [_tensor("wide", [1, 3], [1, "a", 2])]},  # wider than its oip_columns
        {"inputs": [_tensor("age", [0], [])]},  # no rows
        {"inputs": []},
        {"instances": [{"age": 1}]},
        {"inputs": [_tensor("age", [1], [1])], "values": {"age": 2}},  # auto calls it a record
    ],
)
def test_other_oip_messages_go_the_general_way(body: dict[str, Any]) -> None:
    raw = [RawMessage(_dumps(body))]
    decoder = make_decoder("oip", SCHEMA, oip_columns=OIP_COLUMNS, now=lambda: NOW)
    assert prepare(raw, "oip", {"oip": decoder.typed}).typed_groups == {}  # type: ignore[attr-defined]
    general = make_decoder("oip", SCHEMA, oip_columns=OIP_COLUMNS, now=lambda: NOW)
    general.typed = None  # type: ignore[attr-defined]
    assert_same(decoder.decode(raw), general.decode(raw))


@pytest.mark.parametrize(
    ("fmt", "body"),
    [
        ("record", b'{"request_id": "r1", "timestamp": 5, "values": {"age": 41, "plan": "pro", "active": true}}'),
        ("flat", b'{"request_id": 7, "age": 41.5, "signup": "2026-11-26T10:00:00Z"}'),
        ("columns", b'{"request_id": ["a", "b"], "timestamp": 5, "columns": {"age": [1, null], "plan": [1, "x"]}}'),
    ],
)
def test_conforming_messages_take_the_typed_path(fmt: str, body: bytes) -> None:
    decoder = make_decoder(fmt, SCHEMA)
    with_headers = RawMessage(body, headers=(("ce_id", b"ce-1"), ("content-type", b"application/json")))
    prepared = prepare([RawMessage(body), with_headers, RawMessage(body)], fmt, {fmt: decoder.typed})  # type: ignore[attr-defined]
    assert prepared.typed_groups[fmt][0] == [0, 1, 2]
    assert prepared.fallback_request_ids == [None, "ce-1", None]
    assert prepared.json_groups[fmt] == ([], [])


def test_auto_tries_the_typed_parser_of_the_format_last_seen() -> None:
    auto = make_decoder("auto", SCHEMA)
    record = b'{"values": {"age": 41}}'
    flat = b'{"age": 41}'
    oip = b'{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [41]}]}'
    bodies = [record, record, flat, flat, oip, oip, record, record]
    prepared = prepare([RawMessage(body) for body in bodies], None, auto.typed)  # type: ignore[attr-defined]
    # The first of each run is parsed the general way (and tells the format); the rest go typed.
    assert {fmt: group[0] for fmt, group in prepared.typed_groups.items()} == {
        "record": [1, 7], "flat": [3], "oip": [5]
    }
    assert {fmt: group[0] for fmt, group in prepared.json_groups.items()} == {"record": [0, 6], "flat": [2], "oip": [4]}
    batch = auto.decode([RawMessage(body) for body in bodies])
    assert batch.columns["age"].tolist() == [41.0] * 8
    assert batch.message_index.tolist() == list(range(8))
    # The next batch starts with the format the last one ended with.
    assert prepared.last_typed_format == "record"
    again = prepare([RawMessage(record)], None, auto.typed, first_guess=prepared.last_typed_format)  # type: ignore[attr-defined]
    assert again.typed_groups["record"][0] == [0]


@pytest.mark.parametrize(
    ("fmt", "body"),
    [
        ("record", b'{"values": {"age": "41"}}'),  # a string in a numeric column
        ("record", b'{"values": {"age": null}}'),  # every column null: the general path keeps the row
        ("record", b'{"values": {}}'),  # no column: the general path rejects it
        ("flat", b'{"age": 1, "zip": "10115"}'),  # an unknown column is counted by the general path
        ("flat", b'{"age": true}'),
        ("columns", b'{"columns": {"age": null}}'),
        ("columns", b'{"specversion": "1.0", "columns": {"age": [1]}}'),  # structured CloudEvent
        ("columns", b'{"columns": {"age": [1e999]}}'),
        ("columns", b'{"values": {"age": 1}, "columns": {"age": [1]}}'),  # auto calls it a record
        ("record", b'{"specversion": null, "values": {"age": 1}}'),  # any specversion key: the general path
        ("flat", b'{"specversion": null, "age": 1}'),
        # Integers beyond int64: orjson gives floats (or, past uint64, the general path's exact int).
        ("record", b'{"values": {"plan": 1000000000000000000000000000000}}'),
        ("columns", b'{"columns": {"plan": [18446744073709551615]}}'),
        ("flat", b'{"age": 1, "timestamp": -9223372036854775809}'),
    ],
)
def test_other_messages_go_the_general_way(fmt: str, body: bytes) -> None:
    decoder = make_decoder(fmt, SCHEMA)
    prepared = prepare([RawMessage(body)], fmt, {fmt: decoder.typed})  # type: ignore[attr-defined]
    assert prepared.typed_groups == {}


@pytest.mark.parametrize(
    ("fmt", "request_id_key", "timestamp_key"),
    [("record", "ts", "ts"), ("record", "values", "ts"), ("columns", "columns", "ts"),
     ("flat", "age", "ts"), ("flat", "rid", "specversion"), ("oip", "id", "timestamp"), ("oip", "rid", "inputs"),
     ("arrow", "request_id", "timestamp")],
)
def test_no_typed_parser_where_keys_collide(fmt: str, request_id_key: str, timestamp_key: str) -> None:
    options = DecoderOptions.build(SCHEMA, request_id_key=request_id_key, timestamp_key=timestamp_key)
    assert typed_model(fmt, options) is None


def test_no_typed_oip_parser_when_oip_columns_name_columns_outside_the_contract() -> None:
    assert typed_model("oip", DecoderOptions.build(SCHEMA, oip_columns={"wide": ["age", "zip"]})) is None
    assert typed_model("oip", DecoderOptions.build(SCHEMA, oip_columns={"wide": ["age", "plan"]})) is not None
