"""The query parameters of the API's listings as pydantic models (``extra="forbid"``: a misspelt filter is
a 422, never a silently unfiltered answer), and the bodies of answers that have no model in the store.

Times in a query are RFC 3339 date-times (not a date alone, not a number of seconds); one without a zone is
UTC, and a ``+`` that a client forgot to encode (and so arrived as a space, ``...T00:00:00 01:00``) is read
as the ``+`` it was.

>>> p = ReportListParams.model_validate({"model": "churn", "since": "2026-01-01T01:00:00 01:00", "limit": "10"})
>>> p.since.isoformat(), p.limit, p.query().model
('2026-01-01T00:00:00+00:00', 10, 'churn')
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from sidecar.checks.result import Status
from sidecar.report.event import Source
from sidecar.store.base import MetricKind, ReportQuery, SeriesPoint

__all__ = [
    "MAX_PAGE",
    "MetricParams",
    "MetricsAnswer",
    "ModelsAnswer",
    "QueryTime",
    "ReportListParams",
    "SeriesAnswer",
    "SeriesParams",
    "Stored",
    "Written",
]

#: ``GET /reports``' largest page and its default.
MAX_PAGE = 500
DEFAULT_PAGE = 50

_SPACED_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _plus_back(value: Any) -> Any:
    if isinstance(value, str):
        if not _DATE_TIME.match(value):  # not a number of seconds, not a date alone: RFC 3339, as documented
            raise ValueError("expected an RFC 3339 date-time such as 2026-01-01T00:00:00Z")
        return _SPACED_OFFSET.sub(r"\1+\2", value)
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range once converted to UTC") from None


#: A time in a query: ISO 8601, UTC when it has no zone, converted to UTC.
QueryTime = Annotated[datetime, BeforeValidator(_plus_back), AfterValidator(_utc)]
#: A name a client filters by (a model, contract, check or column): any text but NUL (which no database
#: column holds), bounded like the stored names.
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportListParams(_Params):
    """``GET /reports``: filters, page size and cursor."""

    model: Name | None = None
    contract: Name | None = None
    status: Status | None = None
    source: Source | None = None
    monitor: Name | None = None
    since: QueryTime | None = None
    until: QueryTime | None = None
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(None, min_length=1, max_length=512)

    def query(self) -> ReportQuery:
        """The filters as the store takes them."""
        return ReportQuery(model=self.model, contract=self.contract, status=self.status, source=self.source,
                           monitor=self.monitor, since=self.since, until=self.until)


class SeriesParams(_Params):
    """``GET /series``: one check on one column (no column: the table-level rows) of one model's contract."""

    model: Name
    contract: Name
    check: Name
    column: Name | None = None
    since: QueryTime | None = None
    until: QueryTime | None = None


class MetricParams(_Params):
    """``GET /metrics``: one model's production metric series, optionally one metric and kind."""

    model: Name
    metric: Name | None = None
    kind: MetricKind | None = None
    since: QueryTime | None = None
    until: QueryTime | None = None


class Stored(BaseModel):
    """``POST /reports``' answer: the report's id (201 new, 200 stored already)."""

    id: str


class Written(BaseModel):
    """``POST /metrics``' answer: how many points were written (inserted or replaced)."""

    written: int


class ModelsAnswer(BaseModel):
    """``GET /models``: per model its worst current status and each contract's newest report."""

    models: list[dict[str, Any]]


class SeriesAnswer(BaseModel):
    """``GET /series``: the points, oldest first."""

    points: list[SeriesPoint]


class MetricsAnswer(BaseModel):
    """``GET /metrics``: the series ``{model, metric, kind, points}``, each oldest first."""

    series: list[dict[str, Any]]
