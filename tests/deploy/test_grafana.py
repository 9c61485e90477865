"""The Grafana dashboard: its PromQL parses (promtool) and names only metrics a live sidecar exports.

The live check covers the alert rules' metric names too.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
import yaml
from integration.sidecar_proc import SidecarProcess, free_port, get, post
from tools import required_tool

from sidecar import DataContract
from sidecar.demo.data import churn_frame

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "model-health.json"
RULES = ROOT / "deploy" / "prometheus" / "model-health.rules.yml"
#: Grafana's variables, replaced by values a real query would carry, so promtool sees plain PromQL.
VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$model": "churn", "$contract": "churn_inputs"}
#: Series the dashboard reads that the sidecar does not export, each with the reason.
#: Metrics the dashboard or the rules read that the sidecar does not export (its SLA bounds it does, from
#: the ``sla:`` settings, which the live sidecar below has).
NOT_FROM_THE_SIDECAR: set[str] = set()
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
             "offset", "inf", "nan"}
T0 = 1_800_000_000.0


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in board["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # collapsed rows hold their panels
    return out


def expressions(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression: panel targets and the selectors inside the variables' label_values()."""
    exprs = [t["expr"] for p in panels(board) for t in p.get("targets", [])]
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
            assert match, f"variable {var['name']}: expected label_values(selector, label), got {query!r}"
            exprs.append(match.group(1))
    return exprs


def substitute(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
    return expr


def metric_names(expr: str) -> set[str]:
    """Metric names in ``expr``: identifiers outside strings, label matchers, ranges and grouping clauses
    that are not function calls or keywords."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", text):  # not the "m" of "5m"
        following = text[m.end():].lstrip()
        if m.group(0).lower() in _KEYWORDS or following.startswith("("):
            continue
        names.add(m.group(0))
    return names


def exported_names(exposition: str) -> set[str]:
    """Series names a /metrics page can carry: every family from its # TYPE line (also a labelled family
    with no series yet), histograms as _bucket/_sum/_count."""
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, flags=re.M):
        names |= {name + s for s in ("_bucket", "_sum", "_count")} if kind == "histogram" else {name}
    names |= {line.split("{")[0].split(" ")[0] for line in exposition.splitlines() if line and line[0] != "#"}
    return names


def test_metric_names_are_found_and_functions_are_not() -> None:
    expr = ('histogram_quantile(0.99, sum by (le) (rate(a_bucket{model=~"x|y", le!="+Inf"}[5m]))) '
            '/ on(model) group_left(contract) b_info and time() - c offset 5m > bool 0')
    assert metric_names(expr) == {"a_bucket", "b_info", "c"}


def test_exported_names_include_families_without_series() -> None:
    page = ("# HELP x_total X.\n# TYPE x_total counter\n# HELP h H.\n# TYPE h histogram\n"
            'h_bucket{le="1.0"} 1.0\ng{model="m"} 2.0\n')
    assert exported_names(page) == {"x_total", "h_bucket", "h_sum", "h_count", "g"}


def test_dashboard_has_the_variables_and_panels() -> None:
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert {"model", "contract"} <= variables.keys()
    for panel in panels(board):
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert all(t["datasource"] == panel["datasource"] for t in panel["targets"]), panel["title"]
    by_title = {p["title"]: p for p in panels(board)}
    assert "model_health_feature_drift_score" in by_title["Drift by feature"]["targets"][0]["expr"]
    assert by_title["Check status"]["type"] in {"state-timeline", "heatmap", "status-history"}
    assert "model_health_check_status" in by_title["Check status"]["targets"][0]["expr"]
    assert "rate(model_health_records_total" in by_title["Records per second"]["targets"][0]["expr"]
    dead = " ".join(t["expr"] for t in by_title["Dead letters per second"]["targets"])
    assert 'result="dead_lettered"' in dead and "model_health_dead_letter_failures_total" in dead
    assert "_bucket" in by_title["Window evaluation latency"]["targets"][0]["expr"]
    assert "model_health_kafka_up" in by_title["Kafka connected"]["targets"][0]["expr"]
    sla = [t["expr"] for t in by_title["Production metrics and SLAs"]["targets"]]
    assert any("model_health_production_metric{" in e for e in sla)
    assert any("model_health_production_metric_sla{" in e for e in sla)
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


def test_every_expression_parses_with_promtool(tmp_path: Path) -> None:
    promtool = required_tool("promtool")
    exprs = expressions(dashboard())
    rules = [{"record": f"grafana:expr_{i}", "expr": substitute(e)} for i, e in enumerate(exprs)]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in done.stdout


def _v2_request(df: pd.DataFrame, request_id: str) -> bytes:
    """A KServe V2 (Open Inference Protocol) request: one 1-D tensor per feature."""
    out = df.copy()
    out["signup_date"] = out["signup_date"].map(lambda t: t.isoformat() + "Z")
    rows = out.astype(object).where(out.notna(), None)
    types = {"float64": "FP64", "int64": "INT64"}
    inputs = [{"name": c, "shape": [len(rows)], "datatype": types.get(str(df[c].dtype), "BYTES"),
               "data": rows[c].tolist()} for c in df.columns]
    return orjson.dumps({"id": request_id, "inputs": inputs})


def _post_rows(url: str, df: pd.DataFrame, request_id: str, when: float) -> None:
    headers = {"Ce-Specversion": "1.0", "Ce-Id": request_id, "Ce-Source": "http://localhost:9081/",
               "Ce-Type": "org.kubeflow.serving.inference.request",
               "Ce-Time": pd.Timestamp(when, unit="s", tz="UTC").isoformat().replace("+00:00", "Z"),
               "Ce-Inferenceservicename": "churn", "Content-Type": "application/json"}
    status, body = post(url + "/v1/events", _v2_request(df, request_id), headers)
    assert status == 202 and body["accepted_rows"] == len(df), body


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_dashboard_names_only_metrics_a_live_sidecar_exports(tmp_path: Path) -> None:
    """A real ``sidecar run`` fed over HTTP until a window closes, so its histogram has series too."""
    DataContract("churn_inputs", churn_frame(3000, seed=1)).save(tmp_path / "contracts")
    config = {
        "model": "churn",
        # Nothing listens there: the sidecar serves and judges HTTP-fed windows without Kafka.
        "kafka": {"bootstrap_servers": f"127.0.0.1:{free_port()}", "group_id": "g-grafana",
                  "retry_backoff_seconds": 0.5},
        "inputs": {"topic": "churn.inputs", "contract": str(tmp_path / "contracts" / "churn_inputs"),
                   "format": "auto"},
        "window": {"size_seconds": 60, "lateness_seconds": 2, "min_rows": 50, "idle_close_seconds": None},
        "store": {"path": str(tmp_path / "store")},
        "sla": {"accuracy": {"warning": 0.85, "critical": 0.8, "direction": "min"}},
    }
    proc = SidecarProcess(tmp_path, config)
    try:
        proc.start()
        _post_rows(proc.url, churn_frame(500, seed=3), "rows", T0 + 10)
        _post_rows(proc.url, churn_frame(1, seed=4), "closer", T0 + 600)
        proc.wait_for(lambda: proc.metric("model_health_window_end_timestamp_seconds") == T0 + 60,
                      what="the first window to close")
        status, body = get(proc.url + "/metrics")
        assert status == 200
    finally:
        proc.stop()
    exposition = body.decode()
    exported = exported_names(exposition)
    assert "model_health_window_evaluation_duration_seconds_bucket" in exposition  # a window was judged
    used = set().union(*(metric_names(substitute(e)) for e in expressions(dashboard())))
    assert {"model_health_feature_drift_score", "model_health_check_status", "model_health_records_total",
            "model_health_window_evaluation_duration_seconds_bucket", "model_health_kafka_up"} <= used
    assert used - exported == NOT_FROM_THE_SIDECAR, f"not exported by the sidecar: {used - exported}"
    # The alert rules read the same page (plus Prometheus' own `up`).
    rules = [r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    in_rules = set().union(*(metric_names(e) for e in rules))
    assert "model_health_dead_letter_failures_total" in in_rules
    assert in_rules - exported == NOT_FROM_THE_SIDECAR | {"up"}, f"rules read {in_rules - exported}"
