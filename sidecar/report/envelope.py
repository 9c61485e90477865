"""What travels with a report to the control room: who made it (:class:`Envelope`) and the id that makes its
delivery idempotent (:func:`derive_report_id`).

It sits below :class:`~sidecar.report.model.ValidationReport`, which publishes itself in an envelope, and
below :class:`~sidecar.report.event.ReportEvent`, the envelope with the report inside.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sidecar.report.data import ReportData

__all__ = ["ID_PATTERN", "Envelope", "Source", "derive_report_id"]

#: Where a report came from.
Source = Literal["window", "batch", "monitor", "fleet"]

#: What a client-chosen id may hold: it appears in URLs and in the store's primary key.
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"


class Envelope(BaseModel):
    """Who made a report: the fields of a report event beside the report itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = Field(default=None, pattern=ID_PATTERN, description="optional, client-chosen")
    model: str = Field(min_length=1, max_length=200)
    source: Source = "batch"
    pod: str | None = Field(default=None, max_length=253)
    monitor: str | None = Field(default=None, max_length=200)

    def id_for(self, report: ReportData) -> str:
        """The client's id, else :func:`derive_report_id` of this envelope and ``report``."""
        return self.id if self.id is not None else derive_report_id(self, report)


def derive_report_id(envelope: Envelope, report: ReportData) -> str:
    """A report's id when the client gave none: from (model, contract, version, source, pod, window start
    and end) for windows and fleet verdicts, so a re-judged or replayed window keeps its id; from the
    report's own JSON for batch and monitor reports. 32 hex digits."""
    r = report
    if envelope.source in ("window", "fleet") and r.window_start is not None and r.window_end is not None:
        parts = [envelope.model, r.contract, str(r.contract_version), envelope.source, envelope.pod or "",
                 r.window_start.isoformat(), r.window_end.isoformat()]
    else:
        parts = [envelope.model, envelope.source, envelope.pod or "", envelope.monitor or "", r.model_dump_json()]
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()
