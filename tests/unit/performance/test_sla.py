"""Production SLAs: bounds in the settings, ``check="sla"`` rows, their metrics and alert events, and the
exported bounds the Prometheus rule reads."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import generate_latest

from sidecar import DataContract
from sidecar.alerts import AlertNotifier, AlertTracker
from sidecar.config import Settings
from sidecar.demo.data import churn_frame
from sidecar.errors import ConfigurationError
from sidecar.metrics import JoinMetrics, SidecarMetrics
from sidecar.performance.cbpe import Estimate
from sidecar.performance.sla import UNDEFINED, SlaBound, sla_report
from sidecar.report.model import Status, ValidationReport
from sidecar.run.app import METRICS, create_app

START = datetime(2026, 12, 1, 10, tzinfo=UTC)
END = START + timedelta(minutes=5)
ACCURACY = {"accuracy": SlaBound(warning=0.85, critical=0.8)}


def report(realized: dict[str, float], estimated: dict[str, float | Estimate] | None = None,
           sla: dict[str, SlaBound] | None = None) -> ValidationReport:
    return sla_report("churn", realized, estimated or {}, ACCURACY if sla is None else sla, START, END, rows=2000)


def rows(r: ValidationReport) -> dict[str | None, Status]:
    return {x.column: x.status for x in r.results}


@pytest.mark.parametrize(("value", "status"), [
    (0.9, Status.HEALTHY), (0.85, Status.HEALTHY),                 # at the bound keeps to it
    (0.849, Status.WARNING), (0.8, Status.WARNING), (0.79, Status.CRITICAL),
])
def test_direction_min_crossing_warning_and_critical_on_realized(value: float, status: Status) -> None:
    r = report({"accuracy": value})
    assert r.contract == "churn.performance"
    assert [(x.check, x.column, x.status) for x in r.results] == [("sla", "accuracy", status)]
    row = r.results[0]
    assert (row.value, row.warning, row.critical) == (value, 0.85, 0.8)
    assert row.details == {"direction": "min", "on": "both"}
    assert (r.window_start, r.window_end, r.row_count["actual"], r.status) == (START, END, 2000, status)


@pytest.mark.parametrize(("value", "status"), [(0.3, Status.HEALTHY), (0.5, Status.HEALTHY),
                                                (0.6, Status.WARNING), (0.71, Status.CRITICAL)])
def test_direction_max_crossing(value: float, status: Status) -> None:
    sla = {"log_loss": SlaBound(warning=0.5, critical=0.7, direction="max")}
    assert rows(report({"log_loss": value}, sla=sla)) == {"log_loss": status}


def test_estimated_metrics_are_judged_with_their_band() -> None:
    r = report({"accuracy": 0.9}, {"accuracy": Estimate(0.78, 0.76, 0.80)})
    assert rows(r) == {"accuracy": Status.HEALTHY, "estimated:accuracy": Status.CRITICAL}
    assert r.results[0].column == "estimated:accuracy"            # worst first
    assert r.results[0].details == {"direction": "min", "on": "both", "band": [0.76, 0.80]}
    # A plain number is accepted too (no band then), numpy scalars included.
    plain = report({}, {"accuracy": np.float32(0.82)})
    assert rows(plain) == {"estimated:accuracy": Status.WARNING}
    assert "band" not in plain.results[0].details


def test_on_selects_realized_or_estimated() -> None:
    realized, estimated = {"accuracy": 0.7}, {"accuracy": 0.7}
    only_realized = {"accuracy": SlaBound(critical=0.8, on="realized")}
    only_estimated = {"accuracy": SlaBound(critical=0.8, on="estimated")}
    assert rows(report(realized, estimated, only_realized)) == {"accuracy": Status.CRITICAL}
    assert rows(report(realized, estimated, only_estimated)) == {"estimated:accuracy": Status.CRITICAL}


def test_missing_metric_gives_no_row_and_nan_a_healthy_row_saying_why() -> None:
    sla = {**ACCURACY, "roc_auc": SlaBound(critical=0.7), "mae": SlaBound(critical=3.0, direction="max")}
    r = report({"accuracy": 0.9, "roc_auc": math.nan}, {"roc_auc": Estimate(math.nan, math.nan, math.nan)}, sla)
    assert rows(r) == {"accuracy": Status.HEALTHY, "roc_auc": Status.HEALTHY, "estimated:roc_auc": Status.HEALTHY}
    undefined = [x for x in r.results if x.column in ("roc_auc", "estimated:roc_auc")]
    assert all(x.value is None and x.details["reason"] == UNDEFINED for x in undefined)
    assert next(x for x in undefined if "band" in x.details).details["band"] == [None, None]
    assert "reason" not in next(x for x in r.results if x.column == "accuracy").details
    assert report({}, {}, sla).results == []
    # The report survives JSON (NaN never reaches it).
    assert type(r).from_json(r.to_json()) == r


def test_bounds_are_validated() -> None:
    with pytest.raises(ValueError, match="set warning, critical or both"):
        SlaBound()
    with pytest.raises(ValueError, match=r"critical \(0.9\) must be at or below warning \(0.8\) for direction min"):
        SlaBound(warning=0.8, critical=0.9)
    with pytest.raises(ValueError, match=r"critical \(1.0\) must be at or above warning \(2.0\) for direction max"):
        SlaBound(warning=2.0, critical=1.0, direction="max")
    with pytest.raises(ValueError, match="finite"):
        SlaBound(critical=math.inf)


def _settings(tmp_path: Path, sla: dict[str, object]) -> Settings:
    DataContract("churn_inputs", churn_frame(600, seed=1)).save(tmp_path / "contracts")
    return Settings(model="churn", inputs={"topic": "churn.inputs", "contract": str(tmp_path / "contracts" /
                                                                                   "churn_inputs")},
                    ingest={"worker_process": False}, alerts={"topic": None}, store={"path": str(tmp_path / "s")},
                    sla=sla)


def test_settings_sla_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = _settings(tmp_path, {"accuracy": {"warning": 0.85, "critical": 0.8}, "mae": {"critical": 3,
                                                                                       "direction": "max"}})
    assert s.sla == {"accuracy": SlaBound(warning=0.85, critical=0.8),
                     "mae": SlaBound(critical=3.0, direction="max")}
    with pytest.raises(ValueError, match=r"sla.mae: on: estimated, but only accuracy, precision"):
        _settings(tmp_path, {"mae": {"critical": 3, "direction": "max", "on": "estimated"}})
    config = tmp_path / "sidecar.yaml"
    config.write_text("model: churn\ninputs: {topic: t, contract: c/x}\nsla:\n  accuracy: {warning: 0.8, "
                      "critical: 0.9}\n")
    with pytest.raises(ConfigurationError, match=r"sla.accuracy: .*critical \(0.9\) must be at or below"):
        Settings.load(config)
    # YAML 1.1 reads a bare `on` key as True; it still means `on`.
    config.write_text("model: churn\ninputs: {topic: t, contract: c/x}\nsla:\n  recall: {critical: 0.5, "
                      "on: estimated}\n")
    assert Settings.load(config).sla == {"recall": SlaBound(critical=0.5, on="estimated")}
    monkeypatch.setenv("SIDECAR_SLA__ACCURACY__CRITICAL", "0.75")
    config.write_text("model: churn\ninputs: {topic: t, contract: c/x}\n")
    assert Settings.load(config).sla == {"accuracy": SlaBound(critical=0.75)}


def test_report_reaches_the_metrics_and_fires_an_alert() -> None:
    metrics = SidecarMetrics("churn")
    r = report({"accuracy": 0.7}, {"accuracy": Estimate(0.83, 0.81, 0.85)})
    metrics.publish(r, 0.01)
    labels = {"model": "churn", "contract": "churn.performance", "check": "sla"}
    get = metrics.registry.get_sample_value
    assert get("model_health_check_status", {**labels, "feature": "accuracy"}) == 2
    assert get("model_health_check_status", {**labels, "feature": "estimated:accuracy"}) == 1
    assert get("model_health_check_value", {**labels, "feature": "accuracy"}) == 0.7
    assert get("model_health_check_threshold", {**labels, "feature": "accuracy", "severity": "critical"}) == 0.8
    assert get("model_health_window_end_timestamp_seconds",
               {"model": "churn", "contract": "churn.performance"}) == END.timestamp()

    tracker = AlertTracker("churn")
    events = tracker.observe(r)
    fired = {(e.data.feature, e.data.state, e.data.status.value, e.data.threshold) for e in events}
    assert fired == {("accuracy", "firing", "critical", 0.8), ("estimated:accuracy", "firing", "warning", 0.85)}
    assert tracker.firing == {"churn/churn.performance/sla/accuracy": Status.CRITICAL,
                              "churn/churn.performance/sla/estimated:accuracy": Status.WARNING}
    recovered = tracker.observe(report({"accuracy": 0.9}, {"accuracy": 0.9}))
    assert {(e.data.feature, e.data.state) for e in recovered} == {("accuracy", "resolved"),
                                                                    ("estimated:accuracy", "resolved")}


def test_notifier_on_report_and_exported_bounds_from_create_app(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"accuracy": {"warning": 0.85, "critical": 0.8},
                                    "recall": {"critical": 0.5, "on": "estimated"},
                                    "log_loss": {"critical": 0.7, "direction": "max"}})
    app = create_app(settings)
    metrics = app[METRICS]
    get = metrics.registry.get_sample_value
    for severity, value in (("warning", 0.85), ("critical", 0.8)):
        assert get("model_health_production_metric_sla",
                   {"model": "churn", "metric": "accuracy", "severity": severity}) == value
    text = generate_latest(metrics.registry).decode()
    # Upper bounds and estimate-only bounds are not lower bounds of the realized metric: not exported.
    assert 'metric="log_loss"' not in text and 'metric="recall"' not in text
    events = AlertNotifier(settings, metrics.model_level).on_report(None, report({"accuracy": 0.79}, sla=settings.sla))
    assert [(e.data.check, e.data.feature, e.data.state, e.data.status.value) for e in events] == [
        ("sla", "accuracy", "firing", "critical")]


def test_estimated_metric_gauges_and_band() -> None:
    metrics = JoinMetrics("churn")
    get = metrics.registry.get_sample_value
    metrics.set_estimated({"accuracy": Estimate(0.9, 0.88, 0.92), "roc_auc": Estimate(0.8, 0.77, 0.83)})
    assert get("model_health_estimated_metric", {"model": "churn", "metric": "accuracy"}) == 0.9
    assert get("model_health_estimated_metric_bound", {"model": "churn", "metric": "roc_auc", "bound": "lower"}) == 0.77
    assert get("model_health_estimated_metric_bound", {"model": "churn", "metric": "roc_auc", "bound": "upper"}) == 0.83
    # The next window cannot define ROC AUC: its series goes, rather than showing the old value.
    metrics.set_estimated({"accuracy": Estimate(0.85, 0.83, 0.87), "roc_auc": Estimate(math.nan, math.nan, math.nan)})
    assert get("model_health_estimated_metric", {"model": "churn", "metric": "accuracy"}) == 0.85
    assert get("model_health_estimated_metric", {"model": "churn", "metric": "roc_auc"}) is None
    assert get("model_health_estimated_metric_bound", {"model": "churn", "metric": "roc_auc", "bound": "lower"}) is None
