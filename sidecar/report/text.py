"""Plain-text rendering of a :class:`~sidecar.report.model.ValidationReport` for terminals and logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sidecar.checks.result import CheckResult
    from sidecar.report.data import ReportData

__all__ = ["render_text"]

_MARK = {"healthy": "ok  ", "warning": "WARN", "critical": "CRIT"}


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}"


def _row(r: CheckResult) -> str:
    col = r.column if r.column is not None else "(table)"
    reason = r.details.get("reason") or r.details.get("message") or ""
    # A row without thresholds (schema facts, row count as information) shows none rather than "warn>-".
    parts = [f"{name}>{_fmt(x)}" for name, x in (("warn", r.warning), ("crit", r.critical)) if x is not None]
    thresholds = " ".join(parts)
    if r.details.get("noise_bound") is not None:
        # The value had to clear the noise bound too; show it so a verdict can be checked by eye.
        thresholds += f" noise>{_fmt(r.details['noise_bound'])} p={_fmt(r.details.get('p_value'))}"
        if r.details.get("family_tests", 1) > 1:  # judged with the report's other tests: the adjusted p decides
            thresholds += f" adjusted={_fmt(r.details.get('p_value_adjusted'))}"
    value = f"value={_fmt(r.value):<10} " if r.value is not None else ""
    text = f"  {_MARK[r.status.value]} {r.check:<15} {col:<28} {value}{thresholds}".rstrip()
    return f"{text}  {reason}" if reason else text


def render_text(report: ReportData, *, show_healthy: bool = False) -> str:
    """Render ``report``: a summary line, per-check counts and every warning/critical row, the worst first.

    Rows come in the report's order: by severity, then by how far past its threshold (see
    :func:`sidecar.checks.base.order_findings`).
    """
    rc = report.row_count
    change = f"{rc['change']:+.1%}" if rc['change'] is not None else "n/a"
    version = f" v{report.contract_version}" if report.contract_version else ""
    counts = {s: sum(1 for r in report.results if r.status.value == s) for s in ("critical", "warning", "healthy")}
    lines = [
        # The one line a log or a CI job shows: verdict, counts and size.
        f"Contract {report.contract}{version}: {report.status.value.upper()} ({counts['critical']} critical, "
        f"{counts['warning']} warning, {counts['healthy']} healthy of {len(report.results)} results; "
        f"{rc['actual']:,} rows, expected {rc['expected']:,}, {change})",
        "",
        f"  {'check':<15} {'healthy':>8} {'warning':>8} {'critical':>8}",
    ]
    for check, counts in report.summary.items():
        lines.append(f"  {check:<15} {counts['healthy']:>8} {counts['warning']:>8} {counts['critical']:>8}")
    # Report rows come worst first, the furthest past their thresholds first (DataContract.check).
    rows = [r for r in report.results if show_healthy or r.status.value != "healthy"]
    if rows:
        lines += ["", "Findings:"] + [_row(r) for r in rows]
    return "\n".join(lines)
