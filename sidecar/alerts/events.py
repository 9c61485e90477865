"""From window reports to alert transitions and CloudEvents.

A *transition* is a (check, feature) series of one contract whose status changed between two judged
windows: healthy to warning or critical fires, warning to critical (or back) changes severity, and a
return to healthy resolves. Rows that did not judge anything (a check skipped because the schema row
already says the column is missing) and series absent from a window (checks left out of a window below
``min_rows``) leave the state as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sidecar.report.model import CheckResult, Status, ValidationReport, worst_by_series

__all__ = ["EVENT_TYPES", "AlertData", "AlertEvent", "AlertTracker", "Transition", "series_key"]

#: CloudEvents ``type`` of each kind of event.
EVENT_TYPES = {"firing": "io.model-health.alert.firing", "resolved": "io.model-health.alert.resolved"}

class AlertData(BaseModel):
    """What an alert says: which series, how bad, the number, the thresholds and the window."""

    model_config = ConfigDict(frozen=True)

    model: str
    contract: str
    check: str
    feature: str
    state: Literal["firing", "resolved"]
    status: Status
    previous_status: Status
    value: float | None = None
    warning: float | None = None
    critical: float | None = None
    threshold: float | None = Field(None, description="the threshold of `status` (firing) or of the previous one")
    window_start: datetime | None = None
    window_end: datetime | None = None
    rows: int = 0
    started_at: datetime = Field(description="when the series last left healthy")
    reason: str | None = None
    p_value: float | None = None
    p_value_adjusted: float | None = Field(
        None, description="the p-value adjusted for the report's other tests (family-wise verdicts): the one judged")
    noise_bound: float | None = None


class AlertEvent(BaseModel):
    """One alert event as a CloudEvents 1.0 structured-mode JSON document (``schemas/alert.schema.json``)."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: AlertData

    @property
    def key(self) -> str:
        """``model/contract/check/feature``: the Kafka key, so one series' events stay in order."""
        return self.subject

    def to_json(self) -> bytes:
        """The JSON document."""
        return self.model_dump_json().encode()


def series_key(model: str, contract: str, check: str, feature: str) -> str:
    """The identity of one alerting series (also the CloudEvents subject and Kafka key)."""
    return f"{model}/{contract}/{check}/{feature}"


@dataclass(frozen=True)
class Transition:
    """A series whose status changed in a window."""

    key: str
    previous: Status
    current: Status
    row: CheckResult
    started_at: datetime


class AlertTracker:
    """Remembers the last status of every series of one model and reports the changes.

    Examples
    --------
    >>> from sidecar.report.model import CheckResult, ValidationReport
    >>> t = AlertTracker("churn")
    >>> bad = ValidationReport(contract="c", results=[CheckResult(check="schema", column="a", status="critical")])
    >>> [e.data.state for e in t.observe(bad)], t.observe(bad)
    (['firing'], [])
    >>> ok = ValidationReport(contract="c", results=[CheckResult(check="schema", column="a", status="healthy")])
    >>> [(e.data.state, e.data.previous_status.value) for e in t.observe(ok)]
    [('resolved', 'critical')]
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self._status: dict[str, tuple[Status, datetime]] = {}

    @property
    def firing(self) -> dict[str, Status]:
        """Series currently warning or critical."""
        return {k: s for k, (s, _) in self._status.items() if s is not Status.HEALTHY}

    def observe(self, report: ValidationReport) -> list[AlertEvent]:
        """The events ``report`` causes (and the state updated to it)."""
        now = datetime.now(UTC)
        events = []
        for (check, feature), row in worst_by_series(report.results, judged_only=True).items():
            key = series_key(self.model, report.contract, check, feature)
            previous, since = self._status.get(key, (Status.HEALTHY, now))
            if row.status is previous:
                continue
            if previous is Status.HEALTHY:
                since = now
            self._status[key] = (row.status, since)
            events.append(self._event(report, check, feature, Transition(key, previous, row.status, row, since), now))
        return events

    def _event(self, report: ValidationReport, check: str, feature: str, t: Transition,
               now: datetime) -> AlertEvent:
        state: Literal["firing", "resolved"] = "resolved" if t.current is Status.HEALTHY else "firing"
        row = t.row
        severity = t.previous if state == "resolved" else t.current
        threshold = row.critical if severity is Status.CRITICAL else row.warning
        details: dict[str, Any] = row.details
        data = AlertData(
            model=self.model, contract=report.contract, check=check, feature=feature, state=state,
            status=t.current, previous_status=t.previous, value=row.value, warning=row.warning,
            critical=row.critical, threshold=threshold, window_start=report.window_start,
            window_end=report.window_end, rows=report.row_count["actual"], started_at=t.started_at,
            reason=details.get("reason"), p_value=_number(details.get("p_value")),
            p_value_adjusted=_number(details.get("p_value_adjusted")), noise_bound=_number(details.get("noise_bound")),
        )
        return AlertEvent(source=f"/model-health-sidecar/{self.model}", type=EVENT_TYPES[state], subject=t.key,
                          time=now, data=data)


def _number(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None
