"""ValidationReport: derived status and summary, JSON round trip, text rendering, JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sidecar import CheckResult, DataContract, Status, ValidationReport

ROOT = Path(__file__).resolve().parents[3]


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


def test_text_summary_line_comes_first() -> None:
    rows = [CheckResult(check="schema", column="a", status="critical", details={"reason": "column missing"}),
            CheckResult(check="distribution", column="b", status="warning", value=0.3, warning=0.1, critical=0.5),
            CheckResult(check="distribution", column="c", status="healthy", value=0.01, warning=0.1, critical=0.5)]
    report = ValidationReport(contract="t", contract_version=3, results=rows,
                              row_count={"expected": 100, "actual": 150, "change": 0.5})
    first = report.to_text().splitlines()[0]
    assert first == ("Contract t v3: CRITICAL (1 critical, 1 warning, 1 healthy of 3 results; "
                     "150 rows, expected 100, +50.0%)")


def test_text_rows_show_only_the_thresholds_they_have() -> None:
    rows = [CheckResult(check="schema", column="a", status="critical", details={"reason": "column missing"}),
            CheckResult(check="min_max", column="b", status="warning", value=0.3, warning=0.1, critical=None)]
    text = ValidationReport(contract="t", results=rows).to_text()
    schema_row = next(line for line in text.splitlines() if "schema" in line and "CRIT" in line)
    min_max_row = next(line for line in text.splitlines() if "min_max" in line and "WARN" in line)
    assert "-" not in schema_row.replace("(table)", "") and ">" not in schema_row and "value=" not in schema_row
    assert schema_row.endswith("column missing")
    assert "warn>0.1" in min_max_row and "crit>" not in min_max_row


def test_text_findings_come_worst_first(reference: pd.DataFrame) -> None:
    drifted = reference.assign(tenure=reference["tenure"] + 30).drop(columns=["plan"])
    text = DataContract("churn", reference).validate(drifted).to_text()
    marks = [line.split()[0] for line in text.split("Findings:")[1].splitlines() if line.strip()]
    severity = {"CRIT": 2, "WARN": 1, "ok": 0}
    assert marks and [severity[m] for m in marks] == sorted((severity[m] for m in marks), reverse=True)


def test_non_finite_values_become_null() -> None:
    r = CheckResult(check="custom", column="x", status=Status.HEALTHY, value=float("inf"))
    assert r.value is None and "Infinity" not in r.model_dump_json()


def test_schemas_match_models() -> None:
    from sidecar.schemas import generate_schemas

    for name, schema in generate_schemas().items():
        path = ROOT / "schemas" / name
        assert path.exists(), f"{path} missing: run `make schemas`"
        assert json.loads(path.read_text()) == schema, f"{path} is stale: run `make schemas`"
