"""The JSON message decoders: every format, auto detection, CloudEvents, typing, errors, metadata."""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
import orjson
import pytest

from sidecar.decoders import (
    DECODERS,
    DecodedBatch,
    ErrorClass,
    FormatDecoder,
    MessageError,
    RawMessage,
    available_formats,
    make_decoder,
    register_decoder,
)
from sidecar.errors import ConfigurationError, UnknownNameError
from sidecar.stats.kinds import ColumnKind

SCHEMA: dict[str, ColumnKind] = {
    "age": ColumnKind.NUMERIC,
    "spend": ColumnKind.NUMERIC,
    "plan": ColumnKind.CATEGORICAL,
    "active": ColumnKind.BOOLEAN,
    "signup": ColumnKind.DATETIME,
}
NOW = 1_700_000_000.0
T0 = 1_795_687_200.0  # 2026-11-26T10:00:00Z


def msg(body: Any, headers: tuple[tuple[str, bytes], ...] = (), timestamp_ms: int | None = None) -> RawMessage:
    """A raw message; ``body`` is JSON-encoded unless it already is bytes (or None)."""
    value = body if body is None or isinstance(body, bytes) else orjson.dumps(body)
    return RawMessage(value, headers=headers, timestamp_ms=timestamp_ms)


def decode(fmt: str, *messages: RawMessage, **options: Any) -> DecodedBatch:
    return make_decoder(fmt, options.pop("schema", SCHEMA), now=lambda: NOW, **options).decode(list(messages))


def only_error(batch: DecodedBatch) -> MessageError:
    assert len(batch.errors) == 1, batch.errors
    return batch.errors[0]


def assert_consistent(batch: DecodedBatch, schema: dict[str, ColumnKind] = SCHEMA) -> None:
    """Every array has n_rows entries and the dtype of its kind."""
    assert set(batch.columns) == set(schema)
    for name, kind in schema.items():
        column = batch.columns[name]
        assert column.shape == (batch.n_rows,)
        expected = np.float64 if kind in (ColumnKind.NUMERIC, ColumnKind.DATETIME) else object
        assert column.dtype == expected, name
    assert batch.timestamps.dtype == np.float64 and batch.timestamps.shape == (batch.n_rows,)
    assert batch.request_ids.dtype == object and batch.request_ids.shape == (batch.n_rows,)
    assert batch.message_index.dtype == np.int64
    assert not np.isnan(batch.timestamps).any()


# ---------------------------------------------------------------------------------------------- formats


def test_record_decodes_values_request_id_and_timestamp() -> None:
    body = {
        "request_id": "r1",
        "timestamp": "2026-11-26T10:00:00Z",
        "values": {"age": 41, "spend": 9.5, "plan": "pro", "active": True, "signup": "2026-11-26T12:00:00+02:00"},
    }
    batch = decode("record", msg(body))
    assert_consistent(batch)
    assert batch.n_rows == 1 and batch.errors == [] and batch.unknown_columns == {}
    assert batch.columns["age"].tolist() == [41.0]
    assert batch.columns["spend"].tolist() == [9.5]
    assert batch.columns["plan"].tolist() == ["pro"]
    assert batch.columns["active"].tolist() == [True]
    assert batch.columns["signup"].tolist() == [T0]
    assert batch.request_ids.tolist() == ["r1"]
    assert batch.timestamps.tolist() == [T0]
    assert batch.message_index.tolist() == [0]


def test_record_ignores_other_top_level_keys_and_rejects_missing_values() -> None:
    batch = decode("record", msg({"values": {"age": 1}, "model": "churn"}), msg({"age": 1}), msg({"values": [1]}))
    assert batch.n_rows == 1 and batch.unknown_columns == {}
    assert [(e.index, e.error_class) for e in batch.errors] == [(1, "InvalidShape"), (2, "InvalidShape")]
    assert "'values'" in batch.errors[0].reason and "list [1]" in batch.errors[1].reason


def test_flat_takes_metadata_from_configured_keys_and_not_as_columns() -> None:
    batch = decode("flat", msg({"rid": "x9", "ts": 5, "age": 3, "plan": "a"}), request_id_key="rid", timestamp_key="ts")
    assert batch.request_ids.tolist() == ["x9"]
    assert batch.timestamps.tolist() == [5.0]
    assert batch.unknown_columns == {}
    assert batch.columns["age"].tolist() == [3.0]


def test_flat_metadata_key_feeds_a_contract_column_of_that_name() -> None:
    schema = {"age": ColumnKind.NUMERIC, "timestamp": ColumnKind.DATETIME}
    batch = decode("flat", msg({"age": 3, "timestamp": 10}), schema=schema)
    assert batch.columns["timestamp"].tolist() == [10.0]
    assert batch.timestamps.tolist() == [10.0]


def test_columns_many_rows_with_per_row_and_shared_metadata() -> None:
    body = {
        "request_id": ["a", "b", "c"],
        "timestamp": 7,
        "columns": {"age": [1, 2, None], "plan": ["x", "y", "z"], "active": [True, None, False]},
    }
    batch = decode("columns", msg(body))
    assert_consistent(batch)
    assert batch.n_rows == 3
    np.testing.assert_array_equal(batch.columns["age"], [1.0, 2.0, np.nan])
    assert batch.columns["active"].tolist() == [True, None, False]
    assert batch.columns["spend"].tolist() == [None] * 0 or np.isnan(batch.columns["spend"]).all()
    assert batch.request_ids.tolist() == ["a", "b", "c"]
    assert batch.timestamps.tolist() == [7.0, 7.0, 7.0]
    assert batch.message_index.tolist() == [0, 0, 0]


def test_columns_shape_errors() -> None:
    batch = decode(
        "columns",
        msg({"columns": {"age": [1, 2], "plan": ["x"]}}),
        msg({"columns": {"age": 1}}),
        msg({"columns": [1]}),
        msg({"columns": {"age": [1, 2]}, "request_id": ["only-one"]}),
        msg({"columns": {}}),  # zero rows: accepted, contributes nothing
    )
    assert batch.n_rows == 0
    assert [(e.index, e.error_class) for e in batch.errors] == [
        (0, "InvalidShape"),
        (1, "InvalidShape"),
        (2, "InvalidShape"),
        (3, "InvalidShape"),
    ]
    assert "'age' has 2 values, 'plan' has 1" in batch.errors[0].reason
    assert "'request_id' is a list of 1 values for 2 rows" in batch.errors[3].reason


def test_a_bad_value_in_a_column_batch_names_the_row() -> None:
    batch = decode("columns", msg({"columns": {"age": [1, 2, "3"]}}), msg({"columns": {"age": [4]}}))
    error = only_error(batch)
    assert error.index == 0 and error.error_class == "TypeMismatch"
    assert "column 'age'" in error.reason and "'3'" in error.reason and "row 2 of the message" in error.reason
    assert batch.columns["age"].tolist() == [4.0]
    assert batch.message_index.tolist() == [1]


# --------------------------------------------------------------------------------------- typing rules


def test_one_and_string_one_stay_distinct_categories() -> None:
    batch = decode("flat", msg({"plan": 1}), msg({"plan": "1"}), msg({"plan": 1.5}), msg({"plan": True}))
    values = batch.columns["plan"].tolist()
    assert values == [1, "1", 1.5, True]
    assert [type(v) for v in values] == [int, str, float, bool]


@pytest.mark.parametrize(
    ("column", "value", "error_class"),
    [
        ("age", "41", "TypeMismatch"),
        ("age", True, "TypeMismatch"),
        ("age", {"a": 1}, "TypeMismatch"),
        ("age", [1], "TypeMismatch"),
        ("age", 1e301, "ValueOutOfRange"),
        ("age", -1e301, "ValueOutOfRange"),
        ("plan", {"a": 1}, "TypeMismatch"),
        ("plan", [1, 2], "TypeMismatch"),
        ("active", 1, "TypeMismatch"),
        ("active", "true", "TypeMismatch"),
        ("signup", "yesterday", "InvalidDatetime"),
        ("signup", True, "TypeMismatch"),
        ("signup", [2026], "TypeMismatch"),
        ("signup", 1_795_687_200_000, "ValueOutOfRange"),
    ],
)
def test_values_that_do_not_fit_the_kind_reject_the_message(column: str, value: Any, error_class: str) -> None:
    batch = decode("flat", msg({"age": 1}), msg({column: value}), msg({"age": 2}))
    error = only_error(batch)
    assert (error.index, error.error_class) == (1, error_class)
    assert f"column {column!r}" in error.reason and type(value).__name__ in error.reason
    assert batch.columns["age"].tolist() == [1.0, 2.0]
    assert batch.message_index.tolist() == [0, 2]


def test_epoch_milliseconds_in_a_datetime_column_get_a_hint() -> None:
    error = only_error(decode("flat", msg({"signup": 1_795_687_200_000})))
    assert "milliseconds" in error.reason


def test_integers_beyond_float64_are_out_of_range_and_name_the_column() -> None:
    body = b'{"age": 1' + b"0" * 400 + b', "plan": "x"}'
    error = only_error(decode("flat", msg(body)))
    assert error.error_class == "ValueOutOfRange" and "column 'age'" in error.reason


def test_large_integers_within_range_are_accepted() -> None:
    batch = decode("flat", msg(f'{{"age": {2**64}, "plan": {2**70}}}'.encode()))
    assert batch.columns["age"].tolist() == [float(2**64)]
    assert batch.columns["plan"].tolist() == [float(2**70)]  # orjson reads integers beyond 64 bits as floats


def test_missing_columns_are_null_and_unknown_columns_are_counted() -> None:
    batch = decode(
        "flat",
        msg({"age": 1, "zip": "10115"}),
        msg({"spend": 2.0, "zip": "80331", "device": "ios"}),
        msg({"spend": 3.0, "zip": [1]}),  # unknown keys are not typed: any value is fine
    )
    assert_consistent(batch)
    assert batch.errors == []
    np.testing.assert_array_equal(batch.columns["age"], [1.0, np.nan, np.nan])
    np.testing.assert_array_equal(batch.columns["spend"], [np.nan, 2.0, 3.0])
    assert batch.columns["plan"].tolist() == [None, None, None]
    assert batch.columns["active"].tolist() == [None, None, None]
    assert np.isnan(batch.columns["signup"]).all()
    assert batch.unknown_columns == {"zip": 3, "device": 1}


def test_unknown_columns_of_rejected_messages_are_not_counted() -> None:
    batch = decode("flat", msg({"age": "x", "zip": 1}), msg({"age": 1, "zip": 2}))
    assert batch.unknown_columns == {"zip": 1}


def test_unknown_columns_count_rows_in_column_batches() -> None:
    batch = decode("columns", msg({"columns": {"age": [1, 2, 3], "extra": [0, 0, 0]}}))
    assert batch.unknown_columns == {"extra": 3}


def test_numeric_fast_path_keeps_integers_and_nulls() -> None:
    batch = decode("flat", *[msg({"age": i if i % 3 else None}) for i in range(10)])
    np.testing.assert_array_equal(batch.columns["age"], [np.nan, 1, 2, np.nan, 4, 5, np.nan, 7, 8, np.nan])


def test_datetime_column_accepts_rfc3339_offsets_dates_and_epoch_numbers() -> None:
    values = [
        "2026-11-26T10:00:00Z",
        "2026-11-26T11:00:00+01:00",
        "2026-11-26t10:00:00z",
        "2026-11-26T10:00:00",  # no offset: UTC
        "2026-11-26T10:00:00.123456789Z",  # nanoseconds: truncated to microseconds
        T0,
        int(T0),
        None,
    ]
    batch = decode("flat", *[msg({"signup": v}) for v in values])
    assert batch.errors == []
    expected = [T0, T0, T0, T0, T0 + 0.123456, T0, T0, math.nan]
    np.testing.assert_allclose(batch.columns["signup"], expected, rtol=0, atol=1e-6)


def test_request_ids_integers_become_text_and_objects_are_rejected() -> None:
    batch = decode("record", msg({"request_id": 42, "values": {"age": 1}}),
                   msg({"request_id": {"a": 1}, "values": {"age": 1}}))
    assert batch.request_ids.tolist() == ["42"]
    error = only_error(batch)
    assert error.error_class == "TypeMismatch" and "'request_id'" in error.reason


def test_bad_timestamp_field_rejects_the_message() -> None:
    batch = decode("record", msg({"timestamp": "soon", "values": {"age": 1}}),
                   msg({"timestamp": [1], "values": {"age": 1}}))
    assert [(e.index, e.error_class) for e in batch.errors] == [(0, "InvalidDatetime"), (1, "TypeMismatch")]
    assert "'timestamp'" in batch.errors[0].reason


# ---------------------------------------------------------------------------------------- timestamps


def test_time_comes_from_field_then_cloudevent_then_kafka_then_now() -> None:
    batch = decode(
        "flat",
        msg({"age": 1, "timestamp": 5}, headers=(("ce_time", b"2026-11-26T10:00:00Z"),), timestamp_ms=9000),
        msg({"age": 2}, headers=(("ce_time", b"2026-11-26T10:00:00Z"),), timestamp_ms=9000),
        msg({"age": 3}, timestamp_ms=9000),
        msg({"age": 4}),
    )
    assert batch.timestamps.tolist() == [5.0, T0, 9.0, NOW]


def test_request_id_comes_from_field_then_ce_id_then_header() -> None:
    batch = decode(
        "flat",
        msg({"request_id": "field", "age": 1}, headers=(("ce_id", b"ce"), ("request_id", b"hdr"))),
        msg({"age": 2}, headers=(("request_id", b"hdr"), ("ce_id", b"ce"))),
        msg({"age": 3}, headers=(("request_id", b"hdr"),)),
        msg({"age": 4}, headers=(("X-Request-Id", b"xhdr"),)),
        msg({"age": 5}),
    )
    assert batch.request_ids.tolist() == ["field", "ce", "hdr", "xhdr", None]


def test_kafka_no_timestamp_marker_is_not_a_time() -> None:
    batch = decode("flat", msg({"age": 1}, timestamp_ms=-1))
    assert batch.timestamps.tolist() == [NOW]


def test_now_is_called_once_per_batch_and_only_when_needed() -> None:
    calls: list[int] = []

    def clock() -> float:
        calls.append(1)
        return NOW

    decoder = make_decoder("flat", SCHEMA, now=clock)
    decoder.decode([msg({"age": 1}, timestamp_ms=1000)])
    assert calls == []
    batch = decoder.decode([msg({"age": 1}), msg({"age": 2}), msg({"age": 3}, timestamp_ms=1000)])
    assert calls == [1]
    assert batch.timestamps.tolist() == [NOW, NOW, 1.0]


# ----------------------------------------------------------------------------------------- CloudEvents

CE_BINARY_KAFKA = (
    ("ce_specversion", b"1.0"),
    ("ce_id", b"evt-1"),
    ("ce_time", b"2026-11-26T10:00:00Z"),
    ("ce_type", b"org.kubeflow.serving.inference.request"),
    ("ce_source", b"http://localhost:9081/"),
    ("content-type", b"application/json"),
)


@pytest.mark.parametrize(
    "headers",
    [
        CE_BINARY_KAFKA,
        tuple((name.replace("ce_", "ce-"), value) for name, value in CE_BINARY_KAFKA),
        tuple((name.replace("ce_", "Ce-").title(), value) for name, value in CE_BINARY_KAFKA),
    ],
    ids=["kafka", "http", "http-capitalised"],
)
def test_cloudevents_binary_mode(headers: tuple[tuple[str, bytes], ...]) -> None:
    batch = decode("auto", msg({"instances": [{"age": 41}]}, headers=headers, timestamp_ms=5))
    assert batch.errors == []
    assert batch.columns["age"].tolist() == [41.0]
    assert batch.request_ids.tolist() == ["evt-1"]
    assert batch.timestamps.tolist() == [T0]


def test_cloudevents_structured_mode_with_json_data() -> None:
    event = {
        "specversion": "1.0",
        "id": "evt-2",
        "source": "s",
        "type": "t",
        "time": "2026-11-26T10:00:00Z",
        "datacontenttype": "application/json",
        "data": {"values": {"age": 7}},
    }
    for fmt in ("auto", "record"):
        batch = decode(fmt, msg(event))
        assert batch.errors == [], fmt
        assert batch.columns["age"].tolist() == [7.0]
        assert batch.request_ids.tolist() == ["evt-2"]
        assert batch.timestamps.tolist() == [T0]


def test_structured_mode_payload_fields_win_over_the_envelope() -> None:
    event = {
        "specversion": "1.0",
        "id": "evt",
        "time": "2026-11-26T10:00:00Z",
        "data": {"age": 1, "request_id": "own", "timestamp": 3},
    }
    batch = decode("flat", msg(event))
    assert batch.request_ids.tolist() == ["own"] and batch.timestamps.tolist() == [3.0]


def test_structured_mode_by_content_type_and_base64_data() -> None:
    inner = orjson.dumps({"columns": {"age": [1, 2]}})
    event = {"specversion": "1.0", "id": "evt-3", "data_base64": base64.b64encode(inner).decode()}
    headers = (("content-type", b"application/cloudevents+json; charset=utf-8"),)
    batch = decode("auto", msg(event, headers=headers))
    assert batch.columns["age"].tolist() == [1.0, 2.0]
    assert batch.request_ids.tolist() == ["evt-3", "evt-3"]


def test_structured_mode_with_json_document_in_a_string() -> None:
    event = {"specversion": "1.0", "id": "e", "datacontenttype": "application/json", "data": '{"age": 5}'}
    assert decode("flat", msg(event)).columns["age"].tolist() == [5.0]


@pytest.mark.parametrize(
    ("event", "error_class"),
    [
        ({"specversion": "1.0", "id": "e"}, "EmptyBody"),
        ({"specversion": "1.0", "id": "e", "data_base64": "%%%"}, "InvalidCloudEvent"),
        ({"specversion": "1.0", "id": "e", "time": "noon", "data": {"age": 1}}, "InvalidCloudEvent"),
        ({"specversion": "1.0", "id": {"x": 1}, "data": {"age": 1}}, "InvalidCloudEvent"),
        ({"specversion": "1.0", "id": "e", "datacontenttype": "application/protobuf", "data": "x"}, "UnknownFormat"),
        ({"specversion": "1.0", "id": "e", "data": [1, 2]}, "InvalidShape"),
    ],
)
def test_bad_structured_events(event: dict[str, Any], error_class: str) -> None:
    assert only_error(decode("auto", msg(event))).error_class == error_class


def test_bad_ce_time_header_rejects_the_message() -> None:
    error = only_error(decode("flat", msg({"age": 1}, headers=(("ce_time", b"later"),))))
    assert error.error_class == "InvalidCloudEvent" and "ce_time" in error.reason


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("fmt", ["auto", "record", "flat", "columns", "oip"])
def test_envelope_errors_for_every_json_format(fmt: str) -> None:
    batch = decode(
        fmt,
        msg(None),
        msg(b""),
        msg(b"  \n"),
        msg(b'{"age": '),
        msg(b"[1, 2]"),
        msg(b'"text"'),
        msg(b"\xff\xfe{}"),
        msg(b"{}", headers=(("content-type", b"application/x-protobuf"),)),
    )
    classes = [e.error_class for e in batch.errors]
    assert classes[:6] == ["EmptyBody", "EmptyBody", "EmptyBody", "InvalidJSON", "InvalidShape", "InvalidShape"]
    assert classes[6] in {"InvalidJSON", "UnknownFormat"}
    assert classes[7] == "UnknownFormat"
    assert [e.index for e in batch.errors] == list(range(8))
    assert batch.n_rows == 0
    assert_consistent(batch)


def test_auto_calls_non_json_non_arrow_bytes_unknown_format() -> None:
    error = only_error(decode("auto", msg(b"\x00\x00\x00\x01protobuf")))
    assert error.error_class == "UnknownFormat"


def test_json_decoder_given_arrow_content_type_says_unknown_format() -> None:
    headers = (("content-type", b"application/vnd.apache.arrow.stream"),)
    assert only_error(decode("flat", msg({"age": 1}, headers=headers))).error_class == "UnknownFormat"


def test_error_classes_are_plain_strings() -> None:
    error = only_error(decode("flat", msg(b"{")))
    assert type(error.error_class) is str and error.error_class == ErrorClass.INVALID_JSON == "InvalidJSON"


def test_bad_messages_do_not_affect_the_rest_of_the_batch() -> None:
    good = [msg({"values": {"age": i}, "request_id": f"r{i}"}) for i in range(5)]
    bad = [msg(b"{"), msg({"values": {"age": "x"}}), msg(None)]
    batch = decode("record", good[0], bad[0], good[1], bad[1], good[2], bad[2], good[3], good[4])
    assert batch.columns["age"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert batch.message_index.tolist() == [0, 2, 4, 6, 7]
    assert [e.index for e in batch.errors] == [1, 3, 5]


def test_empty_batch() -> None:
    for fmt in available_formats():
        batch = decode(fmt)
        assert batch.n_rows == 0 and batch.errors == [] and batch.unknown_columns == {}
        assert_consistent(batch)


# ------------------------------------------------------------------------------------------------ auto


def test_auto_detects_every_json_format_and_keeps_message_order() -> None:
    batch = decode(
        "auto",
        msg({"columns": {"age": [1, 2]}}),
        msg({"values": {"age": 3}}),
        msg({"age": 4}),
        msg({"inputs": [{"name": "age", "shape": [2], "datatype": "INT64", "data": [5, 6]}]}),
        msg({"instances": [{"age": 7}]}),
        msg({"predictions": [{"age": 8}]}),
        msg({"outputs": [{"name": "age", "shape": [1], "datatype": "FP32", "data": [9]}]}),
        msg({"values": 10, "age": 10}),  # "values" holding a scalar is a flat feature, not a record
    )
    assert batch.errors == []
    assert batch.columns["age"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert batch.message_index.tolist() == [0, 0, 1, 2, 3, 3, 4, 5, 6, 7]
    assert batch.unknown_columns == {"values": 1}


def test_explicit_format_does_not_sniff() -> None:
    # A flat message with a feature called "columns" holding an object is still flat when configured so.
    schema = {"columns": ColumnKind.CATEGORICAL, "age": ColumnKind.NUMERIC}
    error = only_error(decode("flat", msg({"columns": {"a": 1}, "age": 1}), schema=schema))
    assert error.error_class == "TypeMismatch"


# ------------------------------------------------------------------------------------------- registry


def test_registry_lists_the_formats() -> None:
    assert available_formats() == ["arrow", "auto", "columns", "flat", "oip", "record"]
    assert set(DECODERS) == set(available_formats())


def test_unknown_format_names_the_accepted_ones_from_the_registry() -> None:
    with pytest.raises(UnknownNameError) as info:
        make_decoder("protobuf", SCHEMA)
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert str(info.value) == ("unknown message format 'protobuf'; accepted formats: " + ", ".join(sorted(DECODERS)))


def test_registering_a_name_twice_raises() -> None:
    class Again(FormatDecoder):
        format_name = "record"

    with pytest.raises(ConfigurationError, match="already registered"):
        register_decoder(Again)
    assert DECODERS["record"].__name__ == "RecordDecoder"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"schema": {"age": "weird"}},
        {"schema": {"": ColumnKind.NUMERIC}},
        {"request_id_key": ""},
        {"oip_columns": {"input-0": "age"}},
        {"oip_columns": {"input-0": []}},
    ],
)
def test_configuration_errors_raise_at_construction(kwargs: dict[str, Any]) -> None:
    schema = kwargs.pop("schema", SCHEMA)
    with pytest.raises(ConfigurationError):
        make_decoder("auto", schema, **kwargs)


def test_schema_kinds_may_be_given_as_strings() -> None:
    batch = make_decoder("flat", {"age": "numeric"}).decode([msg({"age": 1}, timestamp_ms=0)])
    assert batch.columns["age"].tolist() == [1.0]


# ------------------------------------------------------------------------------------- DecodedBatch


def test_concat_orders_by_message_index_and_sums_unknown_columns() -> None:
    first = decode("flat", msg({"age": 1, "x": 1}), msg(b"{"))
    second = decode("flat", msg({"age": 2, "x": 1})).shifted(2)
    joined = DecodedBatch.concat([second, first], SCHEMA)
    assert joined.columns["age"].tolist() == [1.0, 2.0]
    assert joined.message_index.tolist() == [0, 2]
    assert joined.unknown_columns == {"x": 2}
    assert [e.index for e in joined.errors] == [1]


@pytest.mark.parametrize("fmt", ["flat", "columns", "oip"])
def test_deeply_nested_values_are_rejected_not_raised(fmt: str) -> None:
    nested = b"[" * 1000 + b"1" + b"]" * 1000
    body = {
        "flat": b'{"age": ' + nested + b"}",
        "columns": b'{"columns": {"age": [' + nested + b"]}}",
        "oip": b'{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": ' + nested + b"}]}",
    }[fmt]
    error = only_error(decode(fmt, msg(body)))
    assert error.error_class == "TypeMismatch"
    assert len(error.reason) < 200


def test_a_message_with_no_contract_column_is_rejected() -> None:
    batch = decode("auto", msg({"request_id": "r", "values": [1, 2, 3]}), msg({"other_model": 1.0}),
                   msg({"values": {}}), msg({"age": None}))
    assert [(e.index, e.error_class) for e in batch.errors] == [(0, "InvalidShape"), (1, "InvalidShape"),
                                                                 (2, "InvalidShape")]
    assert "no contract column" in batch.errors[0].reason
    assert batch.n_rows == 1  # a row whose contract columns are all null is still a row
