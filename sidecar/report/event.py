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

from sidecar.report.envelope import ID_PATTERN, Envelope, Source
from sidecar.report.model import ValidationReport

__all__ = ["ID_PATTERN", "ReportEvent", "Source"]


class ReportEvent(Envelope):
    """A report and who made it: the body of ``POST /api/v1/reports`` and of a ``reports_topic`` record."""

    report: ValidationReport

    def report_id(self) -> str:
        """The client's id, else one derived from what identifies the report (see the module docstring)."""
        return self.id_for(self.report)
