"""The example Alertmanager configuration: valid for amtool, routes by severity, inhibits as documented.

The inhibition test runs the real Alertmanager (Debian ``prometheus-alertmanager``) on a free loopback
port, posts the alerts the rules would send and reads back which ones it inhibits.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tools import required_tool

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RULES = ROOT / "deploy" / "prometheus" / "model-health.rules.yml"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([required_tool("amtool"), *args], capture_output=True, text=True, timeout=60, check=False)


def test_amtool_check_config_is_clean() -> None:
    done = amtool("check-config", str(CONFIG))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout and "2 inhibit rules" in done.stdout, done.stdout


@pytest.mark.parametrize(("labels", "receiver"), [
    (["alertname=ModelHealthFeatureDriftCritical", "severity=critical", "model=churn"], "model-health-pager"),
    (["alertname=ModelHealthKafkaDown", "severity=critical", "model=churn"], "model-health-pager"),
    (["alertname=ModelHealthFeatureDriftWarning", "severity=warning", "model=churn"], "model-health-tickets"),
    (["alertname=ModelHealthDeadLetterFailures", "severity=warning", "model=churn"], "model-health-tickets"),
])
def test_routes_by_severity(labels: list[str], receiver: str) -> None:
    done = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == receiver


def test_every_rule_severity_has_a_route_and_groups_by_model_and_contract() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert {"model", "contract"} <= set(config["route"]["group_by"])
    severities = {r["labels"]["severity"] for g in yaml.safe_load(RULES.read_text())["groups"]
                  for r in g["rules"] if "severity" in r.get("labels", {})}
    routed = {m.split("=", 1)[1].strip('"') for r in config["route"]["routes"] for m in r["matchers"]
              if m.startswith("severity=")}
    assert severities == routed == {"warning", "critical"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"},
                                 method="GET" if body is None else "POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """The real Alertmanager with the example config, on a free loopback port, no cluster port."""
    port = _free_port()
    log = tmp_path / "alertmanager.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([required_tool("prometheus-alertmanager"), f"--config.file={CONFIG}",
                                 f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                                 "--cluster.listen-address="], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"alertmanager exited {proc.returncode}:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, f"alertmanager not ready in 30 s:\n{log.read_text()}"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, "severity": severity, "model": "churn", "contract": "churn_inputs",
                       **labels}}


def test_critical_inhibits_the_warning_of_the_same_feature_only(alertmanager: str) -> None:
    drift = {"check": "distribution"}
    _request(alertmanager + "/api/v2/alerts", [
        _alert("ModelHealthFeatureDriftCritical", "critical", feature="tenure", **drift),
        _alert("ModelHealthFeatureDriftWarning", "warning", feature="tenure", **drift),
        _alert("ModelHealthFeatureDriftWarning", "warning", feature="plan", **drift),
        _alert("ModelHealthKafkaDown", "critical", check="kafka"),
        _alert("ModelHealthSidecarNotReporting", "warning", check="freshness"),
    ])
    deadline = time.monotonic() + 10
    while True:
        got = {(a["labels"]["alertname"], a["labels"].get("feature", "")): a["status"]["state"]
               for a in _request(alertmanager + "/api/v2/alerts")}
        if len(got) == 5 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert got == {
        ("ModelHealthFeatureDriftCritical", "tenure"): "active",
        ("ModelHealthFeatureDriftWarning", "tenure"): "suppressed",
        ("ModelHealthFeatureDriftWarning", "plan"): "active",
        ("ModelHealthKafkaDown", ""): "active",
        ("ModelHealthSidecarNotReporting", ""): "suppressed",
    }
