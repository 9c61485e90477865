"""The ``arrow`` decoder: IPC streams and files, type checks on the Arrow schema, and auto detection."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest

from sidecar.decoders import DecodedBatch, RawMessage, make_decoder
from sidecar.decoders import arrow as arrow_decoder
from sidecar.stats.kinds import ColumnKind

SCHEMA = {
    "age": ColumnKind.NUMERIC,
    "plan": ColumnKind.CATEGORICAL,
    "active": ColumnKind.BOOLEAN,
    "signup": ColumnKind.DATETIME,
}
T0 = 1_795_687_200.0  # 2026-11-26T10:00:00Z
NOW = 1_700_000_000.0


def ipc_stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def ipc_file(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def decode(*messages: RawMessage, fmt: str = "arrow", schema: dict[str, ColumnKind] | None = None) -> DecodedBatch:
    return make_decoder(fmt, schema or SCHEMA, now=lambda: NOW).decode(list(messages))


def test_arrow_stream_decodes_every_kind_with_nulls() -> None:
    table = pa.table(
        {
            "request_id": ["a", None, "c"],
            "timestamp": pa.array([dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC)] * 3, pa.timestamp("ms", "UTC")),
            "age": pa.array([41, None, 30], pa.int32()),
            "plan": pa.array(["pro", None, "1"]),
            "active": pa.array([True, None, False]),
            "signup": pa.array([0, None, 86_400_000_000], pa.timestamp("us")),
            "zip": ["1", "2", "3"],
        }
    )
    batch = decode(RawMessage(ipc_stream(table), headers=(("ce_id", b"ce"),), timestamp_ms=5))
    assert batch.errors == []
    np.testing.assert_array_equal(batch.columns["age"], [41, np.nan, 30])
    assert batch.columns["plan"].tolist() == ["pro", None, "1"]
    assert batch.columns["active"].tolist() == [True, None, False]
    np.testing.assert_array_equal(batch.columns["signup"], [0, np.nan, 86_400])
    assert batch.request_ids.tolist() == ["a", "ce", "c"]
    assert batch.timestamps.tolist() == [T0] * 3
    assert batch.unknown_columns == {"zip": 3}
    assert all(column.dtype in (np.float64, object) for column in batch.columns.values())


def test_arrow_file_format_and_missing_columns_and_fallback_times() -> None:
    batch = decode(RawMessage(ipc_file(pa.table({"age": [1.5, 2.5]})), timestamp_ms=9000))
    assert batch.columns["age"].tolist() == [1.5, 2.5]
    assert batch.columns["plan"].tolist() == [None, None]
    assert np.isnan(batch.columns["signup"]).all()
    assert batch.timestamps.tolist() == [9.0, 9.0]
    assert batch.request_ids.tolist() == [None, None]


def test_categorical_keeps_python_scalar_types() -> None:
    messages = [
        RawMessage(ipc_stream(pa.table({"plan": pa.array([1, None], pa.int64())})), timestamp_ms=0),
        RawMessage(ipc_stream(pa.table({"plan": pa.array(["1", "x"]).dictionary_encode()})), timestamp_ms=0),
        RawMessage(ipc_stream(pa.table({"plan": pa.array([True, None])})), timestamp_ms=0),
        RawMessage(ipc_stream(pa.table({"plan": pa.array([0.5, None], pa.float16())})), timestamp_ms=0),
    ]
    values = decode(*messages).columns["plan"].tolist()
    assert values == [1, None, "1", "x", True, None, 0.5, None]
    assert [type(v) for v in values if v is not None] == [int, str, str, bool, float]


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (pa.array([1, 2], pa.uint8()), [1.0, 2.0]),
        (pa.array([2**62, None], pa.int64()), [float(2**62), np.nan]),
        (pa.array([Decimal("1.25"), None], pa.decimal128(5, 2)), [1.25, np.nan]),
        (pa.array([1.0, float("nan")]), [1.0, np.nan]),  # NaN reads as null
        (pa.array([None, None], pa.null()), [np.nan, np.nan]),
        (pa.array([3.0, 4.0]).dictionary_encode(), [3.0, 4.0]),
    ],
)
def test_numeric_arrow_types(array: pa.Array, expected: list[float]) -> None:
    batch = decode(RawMessage(ipc_stream(pa.table({"age": array})), timestamp_ms=0))
    assert batch.errors == []
    np.testing.assert_array_equal(batch.columns["age"], expected)


@pytest.mark.parametrize("arrow_type", [pa.int8(), pa.int32(), pa.int64(), pa.uint64()])
def test_null_free_integers_stay_integers_and_profile_like_floats(arrow_type: pa.DataType) -> None:
    """Null-free integer columns skip the float64 cast (zero-copy); the profile converts them as it folds,
    so the counts equal those of the same numbers sent as floats."""
    import pandas as pd

    from sidecar.stats.profile import Profile, reference_profile

    values = [0, 1, 7, 100, 3, 3, 64, 127] * 50
    as_int = decode(RawMessage(ipc_stream(pa.table({"age": pa.array(values, arrow_type)})), timestamp_ms=0))
    as_float = decode(RawMessage(ipc_stream(pa.table({"age": pa.array(values, pa.float64())})), timestamp_ms=0))
    assert as_int.errors == [] and as_int.columns["age"].dtype.kind in "iu"
    np.testing.assert_array_equal(as_int.columns["age"], as_float.columns["age"])
    specs = [s for s in reference_profile(pd.DataFrame({"age": np.array(values, dtype=float)})).specs]
    profiles = [Profile.empty(specs), Profile.empty(specs)]
    for profile, batch in zip(profiles, (as_int, as_float), strict=True):
        profile.update({"age": batch.columns["age"]}, batch.n_rows)
    a, b = (p.columns["age"] for p in profiles)
    assert (a.hist.tolist(), a.count, a.nulls, a.minimum, a.maximum) == (
        b.hist.tolist(), b.count, b.nulls, b.minimum, b.maximum)


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (pa.array([T0, None]), [T0, np.nan]),
        (pa.array([int(T0)], pa.int64()), [T0]),
        (pa.array(["2026-11-26T10:00:00Z", None]), [T0, np.nan]),
        (pa.array(["2026-11-26T10:00:00", "2026-11-26"]), [T0, T0 - 36_000]),  # Python fallback
        (pa.array([dt.date(2026, 11, 26)], pa.date32()), [T0 - 36_000]),
        (pa.array([dt.date(2026, 11, 26)], pa.date64()), [T0 - 36_000]),
        (pa.array([int(T0 * 1e9)], pa.timestamp("ns", "Europe/Berlin")), [T0]),
    ],
)
def test_datetime_arrow_types(array: pa.Array, expected: list[float]) -> None:
    batch = decode(RawMessage(ipc_stream(pa.table({"signup": array})), timestamp_ms=0))
    assert batch.errors == []
    np.testing.assert_array_equal(batch.columns["signup"], expected)


@pytest.mark.parametrize(
    ("column", "array", "error_class", "fragment"),
    [
        ("age", pa.array(["41"]), "TypeMismatch", "column 'age' (numeric)"),
        ("age", pa.array([True]), "TypeMismatch", "got Arrow type bool"),
        ("age", pa.array([1e301]), "ValueOutOfRange", "column 'age'"),
        ("age", pa.array([1.0, float("inf")]), "ValueOutOfRange", "row 1"),
        ("plan", pa.array([[1, 2]]), "TypeMismatch", "column 'plan' (categorical)"),
        ("plan", pa.array([b"x"], pa.binary()), "TypeMismatch", "binary"),
        ("active", pa.array([1]), "TypeMismatch", "column 'active' (boolean)"),
        ("signup", pa.array(["soon"]), "InvalidDatetime", "'soon'"),
        ("signup", pa.array([1.8e12]), "ValueOutOfRange", "column 'signup'"),
        ("signup", pa.array([True]), "TypeMismatch", "column 'signup'"),
        ("request_id", pa.array([1.5]), "TypeMismatch", "'request_id'"),
        ("timestamp", pa.array(["later"]), "InvalidDatetime", "'timestamp'"),
    ],
)
def test_type_errors_reject_the_message(column: str, array: pa.Array, error_class: str, fragment: str) -> None:
    good = RawMessage(ipc_stream(pa.table({"age": [7]})), timestamp_ms=0)
    bad = RawMessage(ipc_stream(pa.table({column: array})), timestamp_ms=0)
    batch = decode(good, bad, good)
    assert len(batch.errors) == 1
    error = batch.errors[0]
    assert (error.index, error.error_class) == (1, error_class)
    assert fragment in error.reason
    assert batch.columns["age"].tolist() == [7.0, 7.0]
    assert batch.message_index.tolist() == [0, 2]


def test_integer_request_ids_become_text() -> None:
    batch = decode(RawMessage(ipc_stream(pa.table({"request_id": [7, 8]})), timestamp_ms=0))
    assert batch.request_ids.tolist() == ["7", "8"]


def test_invalid_arrow_and_json_given_to_the_arrow_decoder() -> None:
    stream = ipc_stream(pa.table({"age": [1]}))
    batch = decode(
        RawMessage(stream[: len(stream) // 2]),
        RawMessage(b"not arrow at all"),
        RawMessage(b'{"age": 1}'),
        RawMessage(None),
    )
    assert [e.error_class for e in batch.errors] == ["InvalidArrow", "InvalidArrow", "InvalidArrow", "EmptyBody"]


def test_duplicate_column_names_are_a_shape_error() -> None:
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["age", "age"])
    assert decode(RawMessage(ipc_stream(table))).errors[0].error_class == "InvalidShape"


def test_auto_detects_arrow_among_json_and_keeps_order() -> None:
    stream = ipc_stream(pa.table({"age": [2, 3]}))
    batch = decode(
        RawMessage(b'{"age": 1}', timestamp_ms=0),
        RawMessage(stream, timestamp_ms=0),
        RawMessage(b'{"values": {"age": 4}}', timestamp_ms=0),
        RawMessage(ipc_file(pa.table({"age": [5]})), timestamp_ms=0),
        fmt="auto",
    )
    assert batch.columns["age"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert batch.message_index.tolist() == [0, 1, 1, 2, 3]


def test_arrow_in_cloudevents_binary_and_structured_mode() -> None:
    stream = ipc_stream(pa.table({"age": [2]}))
    binary = RawMessage(
        stream,
        headers=(
            ("ce_specversion", b"1.0"),
            ("ce_id", b"bin"),
            ("ce_time", b"2026-11-26T10:00:00Z"),
            ("content-type", b"application/vnd.apache.arrow.stream"),
        ),
    )
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": "structured",
        "time": "2026-11-26T10:00:00Z",
        "datacontenttype": "application/vnd.apache.arrow.stream",
        "data_base64": base64.b64encode(stream).decode(),
    }
    structured = RawMessage(orjson.dumps(event))
    for fmt in ("arrow", "auto"):
        batch = decode(binary, structured, fmt=fmt)
        assert batch.errors == [], fmt
        assert batch.columns["age"].tolist() == [2.0, 2.0]
        assert batch.request_ids.tolist() == ["bin", "structured"]
        assert batch.timestamps.tolist() == [T0, T0]


def test_the_only_per_value_loop_runs_only_when_arrow_cannot_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    # _datetime_texts (to_pylist + Python parsing) is the Arrow path's only per-value Python code.
    def forbidden(*_: Any, **__: Any) -> Any:
        raise AssertionError("per-value Python conversion in the Arrow path")

    monkeypatch.setattr(arrow_decoder, "_datetime_texts", forbidden)
    table = pa.table(
        {
            "age": np.arange(10_000, dtype=np.float64),
            "plan": pa.array(["a", "b"] * 5_000),
            "active": pa.array([True, None] * 5_000),
            "signup": pa.array(["2026-11-26T10:00:00Z"] * 10_000),
        }
    )
    batch = decode(RawMessage(ipc_stream(table), timestamp_ms=0))
    assert batch.n_rows == 10_000 and batch.errors == []


@pytest.mark.parametrize("plan_type", ["string", "dictionary", "dictionary-chunks", "integer"])
def test_coded_categories_count_exactly_like_objects(plan_type: str) -> None:
    from sidecar.stats.coded import CodedValues
    from sidecar.stats.column import ColumnProfile, ColumnSpec

    plans = ["pro", None, "free", "pro", "", "team", None, "pro"]
    active = [True, None, False, True, True, None, False, False]
    if plan_type == "string":
        plan = pa.chunked_array([pa.array(plans)])
    elif plan_type == "dictionary":
        plan = pa.chunked_array([pa.array(plans).dictionary_encode()])
    elif plan_type == "dictionary-chunks":  # two chunks with different dictionaries
        plan = pa.chunked_array([pa.array(plans[:3]).dictionary_encode(), pa.array(plans[3:]).dictionary_encode()])
    else:
        plan = pa.chunked_array([pa.array([1, None, 2, 1, 0, 3, None, 1])])
    table = pa.table({"plan": plan, "active": pa.chunked_array([pa.array(active)]),
                      "timestamp": pa.array([T0] * len(plans))})
    messages = [RawMessage(ipc_stream(table)), RawMessage(ipc_stream(table.slice(2)))]
    schema = {"plan": ColumnKind.CATEGORICAL, "active": ColumnKind.BOOLEAN}
    coded = make_decoder("arrow", schema, coded_categories=True).decode(messages)
    plain = make_decoder("arrow", schema).decode(messages)
    for name, kind in schema.items():
        assert coded.columns[name].tolist() == plain.columns[name].tolist()
        if plan_type != "integer" or name == "active":
            assert isinstance(coded.columns[name], CodedValues)
        spec = ColumnSpec(name, kind, "object")
        a, b = ColumnProfile.empty(spec), ColumnProfile.empty(spec)
        a.update(coded.columns[name])
        b.update(plain.columns[name])
        assert (a.count, a.nulls, a.categories) == (b.count, b.nulls, b.categories)
        rows = np.array([0, 3, 9])  # what a window split does
        assert coded.columns[name][rows].tolist() == plain.columns[name][rows].tolist()
