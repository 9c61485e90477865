"""Window and batch reports as JSON lines: ``<root>/<model>/<contract>.jsonl``, one report per line.

Append-only and human-readable; the dashboard and the REST API read them back. A
:class:`~sidecar.store.base.ReportStore`.
"""

from __future__ import annotations

import os
from pathlib import Path

from sidecar.report.model import ValidationReport

__all__ = ["JsonlReportStore"]


class JsonlReportStore:
    """Append and read reports under ``root`` (the directory backend of :class:`~sidecar.store.base.ReportStore`)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, model: str, contract: str) -> Path:
        """The JSON lines file of one model's contract."""
        return self.root / model / f"{contract}.jsonl"

    def append(self, model: str, report: ValidationReport) -> Path:
        """Append ``report``; the line is written whole with one ``write`` so readers never see half of it."""
        path = self.path(model, report.contract)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(report.to_json() + "\n")
        return path

    def read(self, model: str, contract: str, limit: int | None = None) -> list[ValidationReport]:
        """Reports of one contract, oldest first (the last ``limit`` when given). Skips torn lines."""
        path = self.path(model, contract)
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        if limit is not None:
            lines = lines[-limit:]
        out = []
        for line in lines:
            try:
                out.append(ValidationReport.from_json(line))
            except ValueError:
                continue
        return out
