"""The shipped alert rules: rendered from their one source, clean under promtool, unit-tested per alert, and quiet
for a healthy joiner's real /metrics."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from prometheus_client import Gauge
from prometheus_client.parser import text_string_to_metric_families
from tools import required_tool

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
RULES_FILE = PROM / "model-health.rules.yml"
PROMETHEUSRULE_FILE = ROOT / "deploy" / "kubernetes" / "base" / "prometheusrule.yaml"
UNIT_TESTS = sorted((PROM / "tests").glob("*.test.yml"))
#: One 5-minute window; a verdict alert must outlast it so one noisy window pages nobody.
WINDOW_SECONDS = 300


def load_render() -> ModuleType:
    """deploy/prometheus/render.py, loaded by path (deploy/ is not a package)."""
    spec = importlib.util.spec_from_file_location("deploy_prometheus_render", PROM / "render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([required_tool("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)


def alerts(rules: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration))


@pytest.fixture(scope="module")
def render() -> ModuleType:
    return load_render()


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    return yaml.safe_load(RULES_FILE.read_text())


def test_shipped_files_are_what_the_source_renders(render: ModuleType) -> None:
    for path, text in render.rendered_files().items():
        assert path.read_text() == text, f"{path.relative_to(ROOT)} is stale: run `make rules`"
    assert render.main(["--check"]) == 0


def test_check_reports_a_stale_file(render: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "deploy" / "prometheus" / "model-health.rules.yml"
    stale.parent.mkdir(parents=True)
    stale.write_text(RULES_FILE.read_text().replace("for: 10m", "for: 1m"))
    monkeypatch.setattr(render, "ROOT", tmp_path)
    monkeypatch.setattr(render, "RULES_FILE", stale)
    monkeypatch.setattr(render, "PROMETHEUSRULE_FILE", PROMETHEUSRULE_FILE)
    assert render.main(["--check"]) == 1
    assert "stale, run `make rules`: deploy/prometheus/model-health.rules.yml" in capsys.readouterr().err


def test_prometheusrule_holds_the_same_groups(shipped: dict[str, Any]) -> None:
    obj = yaml.safe_load(PROMETHEUSRULE_FILE.read_text())
    assert (obj["apiVersion"], obj["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert obj["metadata"]["name"] == "model-health-sidecar"
    assert obj["spec"]["groups"] == shipped["groups"]


def test_promtool_check_rules_is_clean(tmp_path: Path) -> None:
    spec_groups = tmp_path / "prometheusrule-groups.yml"
    groups = yaml.safe_load(PROMETHEUSRULE_FILE.read_text())["spec"]["groups"]
    spec_groups.write_text(yaml.safe_dump({"groups": groups}))
    for path in (RULES_FILE, spec_groups):
        done = promtool("check", "rules", str(path))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS: 14 rules found" in done.stdout, done.stdout


def test_promtool_unit_tests_pass() -> None:
    assert [p.name for p in UNIT_TESTS] == ["checks.test.yml", "drift.test.yml", "sidecar.test.yml"]
    done = promtool("test", "rules", *[p.name for p in UNIT_TESTS], cwd=PROM / "tests")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(UNIT_TESTS), done.stdout


def test_every_alert_is_tested_firing_and_not_firing(shipped: dict[str, Any]) -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in UNIT_TESTS:
        doc = yaml.safe_load(path.read_text())
        assert doc["rule_files"] == ["../model-health.rules.yml"], path
        for test in doc["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case["exp_alerts"] else quiet).add(case["alertname"])
                for exp in case["exp_alerts"]:
                    where = f"{path.name} {case['alertname']} at {case['eval_time']}"
                    assert {"severity", "model", "check"} <= exp["exp_labels"].keys(), where
                    assert exp["exp_labels"]["severity"] in {"warning", "critical"}, where
                    assert {"summary", "description", "value", "threshold", "runbook_url"} == \
                        exp["exp_annotations"].keys(), where
    names = set(alerts(shipped))
    assert names - firing == set(), "alerts without a firing test"
    assert names - quiet == set(), "alerts without a not-firing test"
    assert (firing | quiet) - names == set(), "tests of alerts that do not exist"


def test_verdict_alerts_pair_with_freshness_and_outlast_one_window(shipped: dict[str, Any]) -> None:
    verdicts = next(g for g in shipped["groups"] if g["name"] == "model-health.verdicts")
    for rule in verdicts["rules"]:
        assert seconds(rule["for"]) > WINDOW_SECONDS, rule["alert"]
        if "check_status" in rule["expr"] or "check_value" in rule["expr"]:
            assert "model_health_window_end_timestamp_seconds > time() - 900" in rule["expr"], rule["alert"]
            assert re.search(r"check_status(\{[^}]*\})? (>= 1|== 2)", rule["expr"]), rule["alert"]


def test_every_alert_has_its_runbook_entry_in_the_readme(shipped: dict[str, Any]) -> None:
    headings = re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), flags=re.M)
    # GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens.
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
    for name, rule in alerts(shipped).items():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith("README.md#runbook-"), (name, url)
        assert url.split("#", 1)[1] in anchors, f"{name}: README has no heading for {url}"


def test_overrides_for_end_to_end_tests(render: ModuleType, tmp_path: Path) -> None:
    rules = render.render_rules(for_override="1s", params={"stale_seconds": 60, "runbook_base": "https://x/README.md"})
    for name, rule in alerts(rules).items():
        assert rule["for"] == "1s", name
        assert rule["annotations"]["runbook_url"].startswith("https://x/README.md#runbook-"), name
    drift = alerts(rules)["ModelHealthFeatureDriftCritical"]["expr"]
    assert "time() - 60" in drift and "time() - 900" not in drift
    out = tmp_path / "short.rules.yml"
    assert render.main(["--for-override", "1s", "--param", "stale_seconds=60", "--rules-out", str(out)]) == 0
    assert yaml.safe_load(out.read_text()) == yaml.safe_load(render.dump_yaml(rules).replace("https://x/", ""))
    done = promtool("check", "rules", str(out))
    assert done.returncode == 0, done.stdout + done.stderr


def test_bad_overrides_name_what_is_wrong(render: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"unknown rule parameter 'stale'; accepted: .*stale_seconds"):
        render.render_rules(params={"stale": 1})
    with pytest.raises(ValueError, match=r"'soon' is not a Prometheus duration"):
        render.render_rules(for_override="soon")
    assert render.main(["--param", "stale_seconds"]) == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        render.main(["--for-override", "1s"])  # would overwrite the shipped files
    assert exc.value.code == 2
    assert "need --rules-out" in capsys.readouterr().err


# -- a healthy joiner's own series ------------------------------------------------------------------------------
#: The joiner's scrape target, as a PodMonitor names it (its job matches the rules' sidecar_job_regex).
JOINER_TARGET = {"job": "shop/model-health-join", "instance": "10.0.0.9:6066"}
#: An hour of scrapes, one a minute: longer than every alert's `for:` and the stale_seconds bound.
SCRAPES = 61


def _series(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items())) + "}"


def healthy_joiner_scrapes(tmp_path: Path, *, break_it: bool = False) -> list[dict[str, float]]:
    """What Prometheus scrapes from a healthy ``sidecar join`` once a minute for an hour: the real joiner (SLA
    bounds, a CBPE reference, an alert topic) fed 100 predictions a minute and their outcomes, swept, its
    ``/metrics`` body parsed. Time starts at epoch 0, where promtool's unit tests start theirs. ``break_it``
    puts back what ``JoinMetrics`` once inherited from the stream's metrics: ``model_health_kafka_up 0``."""
    from sidecar.config import Settings
    from sidecar.join.app import create_join_app
    from sidecar.join.joiner import Half

    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 2000)
    pd.DataFrame({"score": np.clip(0.6 * labels + 0.4 * rng.random(2000), 0, 1), "label": labels}).to_csv(
        tmp_path / "reference.csv", index=False)
    now = [0.0]
    settings = Settings(model="churn", store={"path": str(tmp_path / "store")}, alerts={"topic": "model-health.alerts"},
                        sla={"accuracy": {"warning": 0.8, "critical": 0.7}},
                        join={"http": {"port": 0}, "data_dir": str(tmp_path / "faust"),
                              "reference": str(tmp_path / "reference.csv")})
    join = create_join_app(settings, clock=lambda: now[0])
    join.faust.finalize()
    if break_it:
        Gauge("model_health_kafka_up", "1 when the Kafka consumer is connected.", ("model",),
              registry=join.metrics.registry).labels("churn").set(0)
    scrapes = []
    for minute in range(SCRAPES):
        if minute:
            start = 60.0 * (minute - 1)
            y = rng.integers(0, 2, 100)
            scores = np.clip(0.6 * y + 0.4 * rng.random(100), 0, 1)
            ids = [f"{minute}-{i}".encode() for i in range(100)]
            join.joiner.predictions([Half(ids[i], start + 0.5 * i, float(scores[i])) for i in range(100)], 0)
            join.joiner.outcomes([Half(ids[i], start + 0.5 * i + 5, float(y[i])) for i in range(100)], 0)
            now[0] = 60.0 * minute
            join.sweep()
        scrape = {_series("up", JOINER_TARGET): 1.0}
        for family in text_string_to_metric_families(join.exposition().decode()):
            for sample in family.samples:
                scrape[_series(sample.name, {**sample.labels, **JOINER_TARGET})] = sample.value
        scrapes.append(scrape)
    return scrapes


def joiner_rule_test(scrapes: list[dict[str, float]], alert_names: list[str]) -> dict[str, Any]:
    """A promtool unit test: the scrapes as input series ("_" where a series was absent) and, for every shipped
    alert, no firing at any of several times through the hour."""
    names = sorted({name for scrape in scrapes for name in scrape})
    series = [{"series": name, "values": " ".join(repr(s[name]) if name in s else "_" for s in scrapes)}
              for name in names]
    checks = [{"eval_time": f"{minute}m", "alertname": alert, "exp_alerts": []}
              for minute in (5, 10, 20, 31, 45, 60) for alert in alert_names]
    return {"rule_files": [str(RULES_FILE)], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": checks}]}


def test_no_shipped_rule_fires_for_a_healthy_joiner(shipped: dict[str, Any], tmp_path: Path) -> None:
    scrapes = healthy_joiner_scrapes(tmp_path)
    last = scrapes[-1]
    # The joiner's verdict, freshness and SLA series are there for the rules to read, and no stream series.
    assert any(k.startswith('model_health_check_status{check="sla"') for k in last)
    assert any(k.startswith("model_health_window_end_timestamp_seconds{") for k in last)
    assert any(k.startswith("model_health_production_metric_sla{") for k in last)
    assert not any(k.startswith(("model_health_kafka_up", "model_health_records_total")) for k in last)
    test_file = tmp_path / "joiner.test.yml"
    test_file.write_text(yaml.safe_dump(joiner_rule_test(scrapes, sorted(alerts(shipped)))))
    done = promtool("test", "rules", str(test_file))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_joiner_rule_test_catches_a_joiner_exporting_kafka_up(shipped: dict[str, Any], tmp_path: Path) -> None:
    # The same test on a joiner that exports the stream's kafka_up 0 (the old JoinMetrics) fails, and for that.
    test_file = tmp_path / "joiner.test.yml"
    test_file.write_text(yaml.safe_dump(joiner_rule_test(healthy_joiner_scrapes(tmp_path, break_it=True),
                                                         sorted(alerts(shipped)))))
    done = promtool("test", "rules", str(test_file))
    assert done.returncode == 1, done.stdout + done.stderr
    failed = set(re.findall(r"alertname: (\w+)", done.stdout + done.stderr))
    assert failed == {"ModelHealthKafkaDown"}, done.stdout + done.stderr
