"""ValidationReport: derived status and summary, JSON round trip, text rendering, JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sidecar import CheckResult, DataContract, Status, ValidationReport

ROOT = Path(__file__).resolve().parents[2]


def test_status_and_summary_are_derived() -> None:
    r = ValidationReport(contract="c", results=[
        CheckResult(check="distribution", column="a", status=Status.HEALTHY, value=0.0),
        CheckResult(check="distribution", column="b", status=Status.CRITICAL, value=0.5, critical=0.2),
        CheckResult(check="schema", column="a", status=Status.WARNING),
    ])
    assert r.status is Status.CRITICAL
    assert r.summary["distribution"] == {"healthy": 1, "warning": 0, "critical": 1}
    assert Status.CRITICAL.severity == 2 and Status("warning") is Status.WARNING


def test_json_round_trip(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    report = DataContract("churn", reference).validate(current.assign(tenure=current["tenure"] + 20))
    again = ValidationReport.from_json(report.to_json())
    assert again == report
    assert again.results[0].status is report.results[0].status


def test_text_rendering_names_findings(reference: pd.DataFrame) -> None:
    text = DataContract("churn", reference).validate(reference.drop(columns=["plan"])).to_text()
    assert "CRITICAL" in text and "plan" in text and "column missing" in text


def test_non_finite_values_become_null() -> None:
    r = CheckResult(check="custom", column="x", status=Status.HEALTHY, value=float("inf"))
    assert r.value is None and "Infinity" not in r.model_dump_json()


def test_schemas_match_models() -> None:
    from sidecar.schemas import generate_schemas

    for name, schema in generate_schemas().items():
        path = ROOT / "schemas" / name
        assert path.exists(), f"{path} missing: run `make schemas`"
        assert json.loads(path.read_text()) == schema, f"{path} is stale: run `make schemas`"
