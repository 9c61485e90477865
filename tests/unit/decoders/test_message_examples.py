"""The documented message formats: example files, their JSON Schemas and the README snippets all decode.

``jsonschema`` is not a dependency of the project; when it is installed the examples are also validated
against their schemas, otherwise only the schemas' own well-formedness and the decoding are checked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest

from sidecar.decoders import RawMessage, make_decoder
from sidecar.stats.kinds import ColumnKind

MESSAGES = Path(__file__).resolve().parents[3] / "schemas" / "messages"
EXAMPLES = MESSAGES / "examples"

# Example file -> the schema it follows.
EXAMPLE_SCHEMAS = {
    "record.json": "record.schema.json",
    "flat.json": "flat.schema.json",
    "columns.json": "columns.schema.json",
    "oip-request.json": "oip-request.schema.json",
    "kserve-v1-request.json": "oip-request.schema.json",
    "oip-response.json": "oip-response.schema.json",
    "kserve-v1-response.json": "oip-response.schema.json",
    "cloudevent.json": "cloudevent.schema.json",
}
# The churn model the examples describe.
INPUTS = {
    "age": ColumnKind.NUMERIC,
    "tenure": ColumnKind.NUMERIC,
    "spend": ColumnKind.NUMERIC,
    "plan": ColumnKind.CATEGORICAL,
    "country": ColumnKind.CATEGORICAL,
    "active": ColumnKind.BOOLEAN,
    "signup": ColumnKind.DATETIME,
}
OUTPUTS = {"churn_probability": ColumnKind.NUMERIC, "churn": ColumnKind.BOOLEAN}
OIP_COLUMNS = {
    "input-0": ["age", "tenure", "spend"],
    "instances": ["age", "tenure", "spend"],
    "predictions": ["churn_probability"],
}


def decode(body: bytes, schema: dict[str, ColumnKind]) -> Any:
    decoder = make_decoder("auto", schema, oip_columns=OIP_COLUMNS, now=lambda: 0.0)
    return decoder.decode([RawMessage(body, timestamp_ms=0)])


def test_every_example_and_schema_is_listed() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == sorted(EXAMPLE_SCHEMAS)
    assert sorted(p.name for p in MESSAGES.glob("*.schema.json")) == sorted(set(EXAMPLE_SCHEMAS.values()))


@pytest.mark.parametrize("schema_file", sorted(set(EXAMPLE_SCHEMAS.values())))
def test_schemas_are_json_schema_documents(schema_file: str) -> None:
    schema = json.loads((MESSAGES / schema_file).read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/schemas/messages/{schema_file}")
    assert schema["title"] and schema["description"]
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError:
        return
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(("example", "schema_file"), sorted(EXAMPLE_SCHEMAS.items()))
def test_examples_validate_against_their_schema(example: str, schema_file: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((MESSAGES / schema_file).read_text(encoding="utf-8"))
    instance = json.loads((EXAMPLES / example).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(instance)


@pytest.mark.parametrize("example", sorted(EXAMPLE_SCHEMAS))
def test_examples_decode_without_errors_or_unknown_columns(example: str) -> None:
    schema = OUTPUTS if "response" in example else INPUTS
    batch = decode((EXAMPLES / example).read_bytes(), schema)
    assert batch.errors == []
    assert batch.unknown_columns == {}
    assert batch.n_rows >= 1
    # Every example carries at least one real value for a contract column.
    assert any(
        (column == column).any() if column.dtype.kind == "f" else any(v is not None for v in column)
        for column in batch.columns.values()
    )


def test_the_columns_example_has_per_row_request_ids() -> None:
    batch = decode((EXAMPLES / "columns.json").read_bytes(), INPUTS)
    assert batch.request_ids.tolist() == ["r-b1", "r-b2", "r-b3"]
    assert batch.columns["plan"].tolist() == ["plus", "pro", "basic"]


def readme_blocks(language: str) -> list[str]:
    text = (MESSAGES / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("block", readme_blocks("json"))
def test_readme_json_snippets_decode(block: str) -> None:
    body = orjson.loads(block)
    schema = OUTPUTS if "outputs" in body else INPUTS
    batch = decode(orjson.dumps(body), schema)
    assert batch.errors == [] and batch.n_rows >= 1


def test_readme_arrow_snippet_produces_a_decodable_message() -> None:
    (block,) = readme_blocks("python")
    namespace: dict[str, Any] = {}
    exec(block, namespace)  # the README's producer example, as written
    value = namespace["value"]
    assert isinstance(value, bytes) and value[:4] == b"\xff\xff\xff\xff"
    batch = decode(value, INPUTS)
    assert batch.errors == []
    assert batch.columns["age"].tolist() == [41.0, 29.0]
    assert batch.request_ids.tolist() == ["a", "b"]


def test_arrow_example_message() -> None:
    # The Arrow example is built here rather than committed as a binary file.
    table = pa.table(
        {
            "request_id": ["r-a1", "r-a2"],
            "timestamp": pa.array([1_795_687_200_000, 1_795_687_201_000], pa.timestamp("ms", "UTC")),
            "age": pa.array([41, 29], pa.int16()),
            "tenure": [25.5, 3.0],
            "spend": [129.9, None],
            "plan": pa.array(["pro", "basic"]).dictionary_encode(),
            "country": ["DE", "FR"],
            "active": [True, False],
            "signup": pa.array([1_709_281_800_000_000, 1_786_719_900_000_000], pa.timestamp("us", "UTC")),
        }
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    batch = decode(sink.getvalue().to_pybytes(), INPUTS)
    assert batch.errors == [] and batch.unknown_columns == {}
    assert batch.timestamps.tolist() == [1_795_687_200.0, 1_795_687_201.0]
    assert batch.columns["plan"].tolist() == ["pro", "basic"]
    assert batch.columns["signup"].tolist() == [1_709_281_800.0, 1_786_719_900.0]


@pytest.mark.parametrize(
    ("schema_file", "instance"),
    [
        ("record.schema.json", {"values": [1, 2]}),
        ("record.schema.json", {"values": {"age": {"nested": 1}}}),
        ("flat.schema.json", {"age": [1]}),
        ("columns.schema.json", {"columns": {"age": 1}}),
        ("oip-request.schema.json", {"inputs": [{"name": "x", "shape": [1], "datatype": "FP99", "data": [1]}]}),
        ("oip-response.schema.json", {"model_name": "m"}),
        ("cloudevent.schema.json", {"specversion": "1.0", "id": "e", "source": "s", "type": "t"}),
        (
            "cloudevent.schema.json",
            {"specversion": "1.0", "id": "e", "source": "s", "type": "t", "data": {}, "data_base64": ""},
        ),
    ],
)
def test_schemas_reject_malformed_messages(schema_file: str, instance: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((MESSAGES / schema_file).read_text(encoding="utf-8"))
    assert not jsonschema.Draft202012Validator(schema).is_valid(instance)
