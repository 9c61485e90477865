"""``schemas/openapi.yaml`` is a valid OpenAPI 3.0 document, the app serves exactly it, and it describes the same
routes, scopes and fields as the code (the live conformance run is ``tests/integration/test_serve_openapi.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from sidecar.report.event import ReportEvent
from sidecar.report.model import CheckResult, ValidationReport
from sidecar.serve.api import API_PREFIX, ROUTES
from sidecar.serve.api.params import MetricParams, ReportListParams, SeriesParams
from sidecar.serve.app import OPENAPI_PATH, load_openapi
from sidecar.serve.contracts import ContractEntry, ContractVersion
from sidecar.store.base import MetricEvent, ReportHeader, ReportPage

SPEC_FILE = Path(__file__).resolve().parents[3] / "schemas" / "openapi.yaml"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_openapi(SPEC_FILE)


def test_the_package_serves_the_committed_file() -> None:
    assert OPENAPI_PATH.read_bytes() == SPEC_FILE.read_bytes(), (
        "sidecar/serve/openapi.yaml differs from schemas/openapi.yaml: cp schemas/openapi.yaml sidecar/serve/")


def test_it_is_a_valid_openapi_30_document(spec: dict[str, Any]) -> None:
    # schemathesis bundles the OpenAPI 3.0 meta-schema; no separate openapi-spec-validator is installed.
    from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

    errors = sorted(OPENAPI_30_VALIDATOR.iter_errors(spec), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    json.dumps(spec)  # served as JSON: nothing YAML-only (dates, anchors) in it
    broken = {**spec, "paths": {"/reports": {"get": {"operationId": "x"}}}}  # no responses: invalid
    assert any("responses" in e.message for e in OPENAPI_30_VALIDATOR.iter_errors(broken))


def test_every_route_is_documented_with_its_scope_and_nothing_else(spec: dict[str, Any]) -> None:
    assert spec["servers"] == [{"url": API_PREFIX}]
    documented = {(method.upper(), path): op.get("x-scope") for path, ops in spec["paths"].items()
                  for method, op in ops.items()}
    routes = {(r.method, r.path): r.scope for r in ROUTES}
    assert documented.pop(("GET", "/openapi.json")) is None
    assert documented == routes


def test_only_the_openapi_document_is_public(spec: dict[str, Any]) -> None:
    assert spec["security"] == [{"bearer": []}]
    public = [(m, p) for p, ops in spec["paths"].items() for m, op in ops.items() if op.get("security") == []]
    assert public == [("get", "/openapi.json")]


def _properties(spec: dict[str, Any], name: str) -> dict[str, Any]:
    schema = spec["components"]["schemas"][name]
    props: dict[str, Any] = {}
    for part in schema.get("allOf", [schema]):
        if "$ref" in part:
            props |= _properties(spec, part["$ref"].rsplit("/", 1)[1])
        props |= part.get("properties", {})
    return props


@pytest.mark.parametrize(("component", "model"), [
    ("ReportEvent", ReportEvent), ("ValidationReport", ValidationReport), ("CheckResult", CheckResult),
    ("ReportHeader", ReportHeader), ("ReportPage", ReportPage), ("MetricEvent", MetricEvent),
    ("ContractEntry", ContractEntry), ("ContractVersion", ContractVersion),
])
def test_components_have_the_models_fields(spec: dict[str, Any], component: str, model: type[BaseModel]) -> None:
    assert set(_properties(spec, component)) == set(model.model_fields)


def test_stored_report_is_a_header_and_the_report(spec: dict[str, Any]) -> None:
    assert set(_properties(spec, "StoredReport")) == set(ReportHeader.model_fields) | {"report"}


@pytest.mark.parametrize(("path", "model"), [
    ("/reports", ReportListParams), ("/series", SeriesParams), ("/metrics", MetricParams)])
def test_query_parameters_are_the_models(spec: dict[str, Any], path: str, model: type[BaseModel]) -> None:
    names = set()
    for p in spec["paths"][path]["get"]["parameters"]:
        if "$ref" in p:
            p = spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
        names.add(p["name"])
    assert names == set(model.model_fields)


def test_the_documented_page_bounds_are_the_codes(spec: dict[str, Any]) -> None:
    [limit] = [p for p in spec["paths"]["/reports"]["get"]["parameters"] if p.get("name") == "limit"]
    field = ReportListParams.model_fields["limit"]
    bounds = {type(m).__name__: getattr(m, type(m).__name__.lower()) for m in field.metadata}
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"], limit["schema"]["default"]) == (
        bounds["Ge"], bounds["Le"], field.default)


def test_yaml_and_served_json_agree(spec: dict[str, Any]) -> None:
    assert yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8")) == spec
