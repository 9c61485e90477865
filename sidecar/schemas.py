"""JSON Schemas generated from the pydantic models (``make schemas`` writes them to ``schemas/``).

A unit test regenerates them and fails when the committed files drift from the models. The Kafka message
formats have no model: their schemas are written by hand in ``schemas/messages/``, whose examples the unit
tests decode (and validate against those schemas when ``jsonschema`` is installed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sidecar.alerts.events import AlertEvent
from sidecar.contract.fileformat import ContractFile
from sidecar.contract.specmodel import ContractSpec
from sidecar.report.event import ReportEvent
from sidecar.report.model import ValidationReport
from sidecar.store.base import MetricEvent

__all__ = ["generate_schemas", "main"]


def generate_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema for every public file format backed by a model."""
    out: dict[str, dict[str, Any]] = {}
    for filename, model, title in (
        ("contract.schema.json", ContractFile, "model-health-sidecar contract file"),
        ("report.schema.json", ValidationReport, "model-health-sidecar validation report"),
        ("spec.schema.json", ContractSpec, "model-health-sidecar contract spec"),
        ("alert.schema.json", AlertEvent, "model-health-sidecar alert event (CloudEvents 1.0, structured mode)"),
        ("report-event.schema.json", ReportEvent,
         "model-health-sidecar report event (POST /api/v1/reports, a reports_topic record)"),
        ("metric-event.schema.json", MetricEvent,
         "model-health-sidecar metric event (POST /api/v1/metrics, a metrics_topic record)"),
    ):
        schema = model.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = title
        out[filename] = schema
    return out


def main(argv: list[str] | None = None) -> int:
    """Write every schema into the folder given (default ``schemas``)."""
    target = Path((argv or sys.argv[1:] or ["schemas"])[0])
    target.mkdir(parents=True, exist_ok=True)
    for name, schema in generate_schemas().items():
        (target / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {target / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
