"""The ``oip`` decoder: KServe V2 tensors and KServe V1 instances/predictions."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from sidecar.decoders import DecodedBatch, RawMessage, make_decoder
from sidecar.stats.kinds import ColumnKind

SCHEMA = {
    "age": ColumnKind.NUMERIC,
    "spend": ColumnKind.NUMERIC,
    "plan": ColumnKind.CATEGORICAL,
    "active": ColumnKind.BOOLEAN,
}
OIP_COLUMNS = {"input-0": ["age", "spend"], "instances": ["age", "spend"], "predictions": ["spend"]}


def decode(*bodies: Any, oip_columns: dict[str, list[str]] | None = None) -> DecodedBatch:
    decoder = make_decoder("oip", SCHEMA, oip_columns=OIP_COLUMNS if oip_columns is None else oip_columns)
    return decoder.decode([RawMessage(orjson.dumps(body), timestamp_ms=0) for body in bodies])


def tensor(name: str, shape: list[int], data: list[Any], datatype: str = "FP64") -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def test_v2_request_maps_a_2d_tensor_by_column_index_and_1d_by_name() -> None:
    body = {
        "id": "r1",
        "inputs": [
            tensor("input-0", [3, 2], [41, 9.5, 30, 1.0, 22, None]),
            tensor("plan", [3], ["a", "b", "c"], "BYTES"),
            tensor("active", [3, 1], [True, False, True], "BOOL"),
        ],
        "outputs": [{"name": "score"}],  # requested outputs of a request: no data, ignored
    }
    batch = decode(body)
    assert batch.errors == []
    np.testing.assert_array_equal(batch.columns["age"], [41, 30, 22])
    np.testing.assert_array_equal(batch.columns["spend"], [9.5, 1.0, np.nan])
    assert batch.columns["plan"].tolist() == ["a", "b", "c"]
    assert batch.columns["active"].tolist() == [True, False, True]
    assert batch.request_ids.tolist() == ["r1"] * 3
    assert batch.message_index.tolist() == [0, 0, 0]


def test_v2_nested_data_is_flattened_row_major() -> None:
    batch = decode({"inputs": [tensor("input-0", [2, 2], [[1, 2], [3, 4]])]})
    assert batch.columns["age"].tolist() == [1.0, 3.0]
    assert batch.columns["spend"].tolist() == [2.0, 4.0]


def test_v2_response_outputs_and_unknown_tensors() -> None:
    body = {
        "model_name": "churn",
        "id": "r2",
        "outputs": [tensor("spend", [2], [0.1, 0.9], "FP32"), tensor("logits", [2, 3], [0] * 6)],
    }
    batch = decode(body)
    assert batch.columns["spend"].tolist() == [0.1, 0.9]
    assert batch.unknown_columns == {"logits": 2}


def test_single_row_messages_use_the_row_path_and_mix_with_multi_row_ones() -> None:
    one = {"id": "a", "inputs": [tensor("input-0", [1, 2], [1, 2]), tensor("plan", [1], ["x"], "BYTES")]}
    many = {"id": "b", "inputs": [tensor("input-0", [2, 2], [3, 4, 5, 6])]}
    batch = decode(one, many, one)
    assert batch.columns["age"].tolist() == [1.0, 3.0, 5.0, 1.0]
    assert batch.columns["plan"].tolist() == ["x", None, None, "x"]
    assert batch.message_index.tolist() == [0, 1, 1, 2]
    assert batch.request_ids.tolist() == ["a", "b", "b", "a"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"inputs": [tensor("input-0", [2, 2], [1, 2, 3])]}, "shape [2, 2] (4 values) but 3 data values"),
        ({"inputs": [tensor("input-0", [1, 3], [1, 2, 3])]}, "3 values per row but oip_columns maps it to 2"),
        ({"inputs": [tensor("age", [2], [1, 2]), tensor("plan", [3], ["a", "b", "c"], "BYTES")]}, "batch size"),
        ({"inputs": [tensor("age", [1], [1]), tensor("age", [1], [2])]}, "given twice"),
        ({"inputs": [{"name": "age", "shape": [1], "datatype": "FP32"}]}, "binary tensor data is not supported"),
        ({"inputs": [{"shape": [1], "data": [1]}]}, "no 'name'"),
        ({"inputs": [tensor("age", [-1], [])]}, "'shape'"),
        ({"inputs": {"age": [1]}}, "list of tensors"),
        ({"inputs": [tensor("spend", [1, 2], [1, 2])]}, "map them to contract columns"),
        ({"model_name": "churn"}, "needs 'inputs' or 'outputs'"),
        ({"instances": [[1, 2], [3]]}, "differ in length"),
        ({"instances": [[1, 2], {"age": 1}]}, "mix objects, lists and scalars"),
        ({"instances": {"age": 1}}, "must be a list"),
    ],
)
def test_shape_errors(body: dict[str, Any], fragment: str) -> None:
    batch = decode(body, {"inputs": [tensor("age", [1], [7])]})
    assert len(batch.errors) == 1
    error = batch.errors[0]
    assert (error.index, error.error_class) == (0, "InvalidShape")
    assert fragment in error.reason
    assert batch.columns["age"].tolist() == [7.0]


def test_type_errors_in_tensors_name_the_mapped_column() -> None:
    batch = decode({"inputs": [tensor("input-0", [1, 2], [1, "x"], "BYTES")]})
    assert batch.errors[0].error_class == "TypeMismatch" and "column 'spend'" in batch.errors[0].reason


def test_v1_instances_as_lists_objects_and_scalars() -> None:
    batch = decode(
        {"instances": [[1, 2.5], [3, 4.5]]},
        {"instances": [{"age": 5, "plan": "p"}, {"age": 6, "zip": "z"}]},
        {"instances": [{"age": 7}]},
        {"predictions": [0.3, 0.7]},
    )
    assert batch.errors == []
    np.testing.assert_array_equal(batch.columns["age"], [1, 3, 5, 6, 7, np.nan, np.nan])
    np.testing.assert_array_equal(batch.columns["spend"], [2.5, 4.5, np.nan, np.nan, np.nan, 0.3, 0.7])
    assert batch.columns["plan"].tolist() == [None, None, "p", None, None, None, None]
    assert batch.unknown_columns == {"zip": 1}


def test_v1_unmapped_scalars_become_the_column_named_after_the_key() -> None:
    schema = {"predictions": ColumnKind.NUMERIC}
    decoder = make_decoder("oip", schema)
    batch = decoder.decode([RawMessage(b'{"predictions": [0.25, 0.75]}', timestamp_ms=0)])
    assert batch.columns["predictions"].tolist() == [0.25, 0.75]


def test_request_and_response_in_one_message_share_rows() -> None:
    body = {"id": "z", "inputs": [tensor("age", [2], [1, 2])], "outputs": [tensor("spend", [2], [0.5, 0.6])]}
    batch = decode(body)
    assert batch.columns["age"].tolist() == [1.0, 2.0]
    assert batch.columns["spend"].tolist() == [0.5, 0.6]


def test_zero_row_tensor_is_accepted_and_adds_nothing() -> None:
    batch = decode({"inputs": [tensor("input-0", [0, 2], [])]})
    assert batch.errors == [] and batch.n_rows == 0
