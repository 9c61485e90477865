"""Report events: a validation report on its way to the control room, and the id that makes delivery idempotent.

Every way a report is born (a stream window of ``sidecar run``, a batch ``sidecar validate --publish``, a
monitor run, a fleet verdict) wraps it in a :class:`ReportEvent` (``schemas/report-event.schema.json``). A
report's id is the client's when it gave one, else derived: from (model, contract, version, source, pod,
window start and end) for windows and fleet verdicts, from the report's own JSON for batch and monitor
reports. So the same report delivered twice (a Kafka redelivery, a retried POST) is stored once.

>>> from sidecar.report.model import ValidationReport
>>> from datetime import datetime, UTC
>>> r = ValidationReport(contract="c", window_start=datetime(2026, 1, 1, tzinfo=UTC),
...                      window_end=datetime(2026, 1, 1, 0, 5, tzinfo=UTC))
>>> a = ReportEvent(model="churn", source="window", pod="p-1", report=r)
>>> b = ReportEvent(model="churn", source="window", pod="p-1", report=r.model_copy(update={"partial": True}))
>>> a.report_id() == b.report_id(), len(a.report_id())
(True, 32)
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sidecar.report.model import ValidationReport

__all__ = ["ID_PATTERN", "ReportEvent", "Source"]

#: Where a report came from.
Source = Literal["window", "batch", "monitor", "fleet"]

#: What a client-chosen id may hold: it appears in URLs and in the store's primary key.
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"


class ReportEvent(BaseModel):
    """A report and who made it: the body of ``POST /api/v1/reports`` and of a ``reports_topic`` record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = Field(default=None, pattern=ID_PATTERN, description="optional, client-chosen")
    model: str = Field(min_length=1, max_length=200)
    source: Source = "batch"
    pod: str | None = Field(default=None, max_length=253)
    monitor: str | None = Field(default=None, max_length=200)
    report: ValidationReport

    def report_id(self) -> str:
        """The client's id, else one derived from what identifies the report (see the module docstring)."""
        if self.id is not None:
            return self.id
        r = self.report
        if self.source in ("window", "fleet") and r.window_start is not None and r.window_end is not None:
            parts = [self.model, r.contract, str(r.contract_version), self.source, self.pod or "",
                     r.window_start.isoformat(), r.window_end.isoformat()]
            text = "\x1f".join(parts)
        else:
            text = "\x1f".join([self.model, self.source, self.pod or "", self.monitor or "", r.to_json()])
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
