"""Plain-text rendering of a :class:`~sidecar.report.ValidationReport` for terminals and logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sidecar.report import CheckResult, ValidationReport

__all__ = ["render_text"]

_MARK = {"healthy": "ok  ", "warning": "WARN", "critical": "CRIT"}


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}"


def _row(r: CheckResult) -> str:
    col = r.column if r.column is not None else "(table)"
    reason = r.details.get("reason") or r.details.get("message") or ""
    thresholds = f"warn>{_fmt(r.warning)} crit>{_fmt(r.critical)}"
    if r.details.get("noise_bound") is not None:
        # The value had to clear the noise bound too; show it so a verdict can be checked by eye.
        thresholds += f" noise>{_fmt(r.details['noise_bound'])} p={_fmt(r.details.get('p_value'))}"
    extra = f"  {reason}" if reason else ""
    return f"  {_MARK[r.status.value]} {r.check:<15} {col:<28} value={_fmt(r.value):<10} {thresholds}{extra}"


def render_text(report: ValidationReport, *, show_healthy: bool = False) -> str:
    """Render ``report``: a headline, per-check counts and every warning/critical row."""
    rc = report.row_count
    change = f"{rc['change']:+.1%}" if rc['change'] is not None else "n/a"
    version = f" v{report.contract_version}" if report.contract_version else ""
    lines = [
        f"Contract {report.contract}{version}: {report.status.value.upper()}",
        f"Rows: expected {rc['expected']}, actual {rc['actual']} ({change})",
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
