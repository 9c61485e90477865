"""Validation reports: :class:`ValidationReport`, the report's data (:mod:`sidecar.report.data`) with its
JSON and its renderings for people.

These immutable objects are what every consumer reads: the text rendering, the JSON files, the REST API,
the dashboard and the Prometheus collector. :class:`Status` and :class:`CheckResult` (what checks return,
:mod:`sidecar.checks.result`) and the data's names are handed on from here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from sidecar.checks.result import CheckResult, Status
from sidecar.report.data import TABLE_FEATURE, ReportData, RowCount, worst_by_series
from sidecar.report.envelope import Envelope, Source
from sidecar.report.frame import report_frame
from sidecar.report.html import render_notebook, write_html
from sidecar.report.publish import REPORTS_PATH, Published, post_event
from sidecar.report.text import render_text

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["TABLE_FEATURE", "CheckResult", "RowCount", "Status", "ValidationReport", "worst_by_series"]


class ValidationReport(ReportData):
    """The outcome of validating data against a contract.

    Examples
    --------
    >>> r = ValidationReport(contract="c", results=[CheckResult(check="schema", column="a", status="warning")])
    >>> r.status, r.summary["schema"]
    (<Status.WARNING: 'warning'>, {'healthy': 0, 'warning': 1, 'critical': 0})
    """

    def to_json(self, *, indent: int | None = None) -> str:
        """JSON text (the format of ``schemas/report.schema.json``)."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> ValidationReport:
        """Parse :meth:`to_json` output."""
        return cls.model_validate_json(text)

    def to_text(self, *, show_healthy: bool = False) -> str:
        """A readable rendering: headline, summary table, then the rows that need attention."""
        return render_text(self, show_healthy=show_healthy)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per result (worst first): check, column, status, value, warning, critical, then a
        ``details.<key>`` column per scalar detail (see :func:`sidecar.report.report_frame`)."""
        return report_frame(self)

    def to_html(self, path: str | Path) -> Path:
        """Write a self-contained HTML page (works offline: uPlot, CSS and data inlined) and return its path.

        Examples
        --------
        >>> import tempfile
        >>> r = ValidationReport(contract="c", results=[CheckResult(check="schema", column="a", status="healthy")])
        >>> r.to_html(Path(tempfile.mkdtemp()) / "report.html").read_text().count('data-count="healthy">1<')
        1
        """
        return write_html(self, path)

    def publish(self, url: str, *, token: str | None = None, model: str, source: Source = "batch",
                pod: str | None = None, monitor: str | None = None, id: str | None = None,
                timeout: float = 30.0) -> Published:
        """Send this report to the control room (``sidecar serve``) at ``url``: ``POST /api/v1/reports``.

        ``token`` is a write token (``sidecar token create --scope write``). The report's id is ``id``, else
        derived from the report, so publishing the same report twice stores it once. Returns the stored id
        and whether it was new; raises :class:`~sidecar.errors.PublishError` (an ``OSError``) naming what
        the control room refused (401 no or unknown token, 403 too weak a scope, 413 too large, 422 bad
        content) or that it could not be reached (after a few tries). See :mod:`sidecar.report.publish`.

        Examples
        --------
        >>> r = ValidationReport(contract="c")
        >>> r.publish("http://127.0.0.1:9", model="churn", timeout=0.5)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        sidecar.errors.PublishError: POST http://127.0.0.1:9/api/v1/reports (report of churn/c): no answer ...
        """
        # The envelope checks model, source and id before anything is sent (pydantic.ValidationError).
        envelope = Envelope(id=id, model=model, source=source, pod=pod, monitor=monitor)
        body = {**envelope.model_dump(mode="json"), "id": envelope.id_for(self), "report": self.model_dump(mode="json")}
        status, answer = post_event(url, REPORTS_PATH, orjson.dumps(body), token=token,
                                    what=f"report of {model}/{self.contract}", timeout=timeout)
        return Published(str(answer.get("id") or body["id"]), status == 201)

    def _repr_html_(self) -> str:
        # Jupyter's rich display: the same page, isolated in an iframe.
        return render_notebook(self)

    def __str__(self) -> str:
        return self.to_text()


def __getattr__(name: str) -> Any:
    # ``CHECK_NAMES`` was a hand-written tuple here; it now reads the check registry, the one source.
    if name == "CHECK_NAMES":
        from sidecar.checks import check_names

        return check_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
