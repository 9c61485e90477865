"""The Kubernetes manifests in deploy/kubernetes, as `kubectl apply -k` would send them.

Each test renders the kustomization with the real kustomize (installed into .venv/bin by scripts/bootstrap)
and checks the objects: every built-in kind against the bundled OpenAPI schemas of kubernetes-validate in
strict mode, for Kubernetes 1.29 (the first with native sidecars on by default) and the newest version it
knows; the Prometheus Operator's custom resources against the part of their CRD schema we use; and the
wiring between them and the sidecar itself (ports, probe paths, settings, contracts, shutdown).
"""

from __future__ import annotations

import base64
import copy
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from tools import required_tool

from sidecar import DataContract
from sidecar.config import HttpSettings, Settings
from sidecar.errors import ConfigurationError
from sidecar.run import create_app
from sidecar.run.runner import SHUTDOWN_TIMEOUT_SECONDS

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "kubernetes" / "base"
EXAMPLE = ROOT / "deploy" / "kubernetes" / "overlays" / "example"
SIDECAR = "model-health-sidecar"
CUSTOM_GROUP = "monitoring.coreos.com"
VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]

#: Peak PSS of the sidecar with its ingest worker, both processes (benchmarks/README.md, worker A/B).
MEASURED_PEAK_BYTES = 292e6


def _render(directory: Path) -> list[dict[str, Any]]:
    proc = subprocess.run([required_tool("kustomize"), "build", str(directory)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, f"kustomize build {directory} failed: {proc.stderr}"
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


@pytest.fixture(scope="module")
def example() -> list[dict[str, Any]]:
    return _render(EXAMPLE)


def _one(objects: list[dict[str, Any]], kind: str, name_part: str = "") -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and name_part in o["metadata"]["name"]]
    assert len(found) == 1, f"expected one {kind} named *{name_part}*, got {[o['metadata']['name'] for o in found]}"
    return found[0]


def _pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(_one(objects, "Deployment")["spec"]["template"])


def _sidecar(pod: dict[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in pod["spec"].get("initContainers", []) if c["name"] == SIDECAR]
    return dict(container)


def _mount(container: dict[str, Any], volume: str) -> dict[str, Any]:
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume]
    return dict(mount)


def _volume(pod: dict[str, Any], name: str) -> dict[str, Any]:
    (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == name]
    return dict(volume)


@pytest.mark.parametrize("directory", [BASE, EXAMPLE], ids=["base", "example"])
def test_every_object_passes_strict_validation_for_1_29_and_the_newest(directory: Path, tmp_path: Path) -> None:
    objects = _render(directory)
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    args = [required_tool("kubernetes-validate"), "--strict", *(a for v in VERSIONS for a in ("-k", v)), str(rendered)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ERROR" not in proc.stdout
    builtin = [o for o in objects if not o["apiVersion"].startswith(CUSTOM_GROUP)]
    custom = [o for o in objects if o["apiVersion"].startswith(CUSTOM_GROUP)]
    assert {o["kind"] for o in builtin} >= {"Deployment", "PodDisruptionBudget"}
    assert {o["kind"] for o in custom} == {"PodMonitor", "PrometheusRule"}
    for version in VERSIONS:
        minor = ".".join(version.split(".")[:2])
        for obj in builtin:
            line = f"passed for resource {obj['kind'].lower()}/{obj['metadata']['name']} against version {minor}"
            assert line in proc.stdout, f"{line!r} missing from:\n{proc.stdout}"
    # kubernetes-validate bundles no CRD schemas: it warns and skips exactly the custom resources, which
    # test_custom_resources_have_the_operator_shape checks instead.
    warned = set(re.findall(r"Couldn't find schema for kind (\w+) with api version (\S+)", proc.stdout))
    assert warned == {(o["kind"], o["apiVersion"]) for o in custom}


def test_strict_validation_rejects_a_field_kubernetes_does_not_know(example: list[dict[str, Any]]) -> None:
    # The check above can fail: the same validator refuses a misspelt container field.
    deployment = copy.deepcopy(_one(example, "Deployment"))
    kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)
    deployment["spec"]["template"]["spec"]["initContainers"][0]["restartPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError, match="restartPolicyy"):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


def test_the_sidecar_is_a_native_sidecar_of_the_model(example: list[dict[str, Any]]) -> None:
    pod = _pod(example)
    sidecar = _sidecar(pod)
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["args"] == ["run", "--config", f"{_mount(sidecar, 'sidecar-config')['mountPath']}/sidecar.yaml"]
    assert sidecar["image"] == "registry.example.com/model-health-sidecar:0.1.0"
    assert [c["name"] for c in pod["spec"]["containers"]] == ["model"]


def test_every_container_has_the_restricted_security_context(example: list[dict[str, Any]]) -> None:
    pod = _pod(example)["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    containers = pod["containers"] + pod["initContainers"]
    assert len(containers) == 2
    for c in containers:
        ctx = c["securityContext"]
        where = f"container {c['name']}"
        assert ctx["runAsNonRoot"] is True, where
        assert isinstance(ctx["runAsUser"], int) and ctx["runAsUser"] > 0, where
        assert ctx["readOnlyRootFilesystem"] is True, where
        assert ctx["allowPrivilegeEscalation"] is False, where
        assert ctx["capabilities"] == {"drop": ["ALL"]}, where
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, where
        # A read-only root: every path written to is an emptyDir.
        for mount in c["volumeMounts"]:
            if not mount.get("readOnly"):
                assert "emptyDir" in _volume({"spec": pod}, mount["name"]), f"{where}: {mount}"


def test_the_config_map_loads_as_settings_with_the_secret_variables(
    example: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pod = _pod(example)
    sidecar = _sidecar(pod)
    config_volume = _volume(pod, "sidecar-config")["configMap"]
    config_map = _one(example, "ConfigMap", config_volume["name"])
    (item,) = config_volume["items"]
    path = tmp_path / item["path"]
    path.write_text(config_map["data"][item["key"]], encoding="utf-8")

    env = {}
    for var in sidecar["env"]:
        ref = var["valueFrom"]["secretKeyRef"]
        secret = _one(example, "Secret", ref["name"])
        env[var["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
    assert set(env) == {"SIDECAR_KAFKA__SASL_USERNAME", "SIDECAR_KAFKA__SASL_PASSWORD"}
    for name in [n for n in os.environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    with pytest.raises(ConfigurationError, match="sasl_username and sasl_password"):
        Settings.load(path)  # the ConfigMap alone is incomplete: the credentials are only in the Secret
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.load(path)

    assert settings.model == "churn"
    assert settings.kafka.sasl_username == env["SIDECAR_KAFKA__SASL_USERNAME"]
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.store.path == _mount(sidecar, "store")["mountPath"]
    (port,) = sidecar["ports"]
    assert settings.http.port == port["containerPort"]


def test_every_configured_contract_is_in_the_contracts_volume(example: list[dict[str, Any]], tmp_path: Path) -> None:
    pod = _pod(example)
    sidecar = _sidecar(pod)
    config_map = _one(example, "ConfigMap", _volume(pod, "sidecar-config")["configMap"]["name"])
    config = yaml.safe_load(config_map["data"]["sidecar.yaml"])
    volume = _volume(pod, "contracts")["configMap"]
    contracts = _one(example, "ConfigMap", volume["name"])
    mount = _mount(sidecar, "contracts")
    assert mount["readOnly"] is True
    # Lay the volume out as the kubelet does (key -> item path) and load each configured contract from it.
    for item in volume["items"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+/v\d+\.json", item["path"]), item
        (tmp_path / item["path"]).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / item["path"]).write_text(contracts["data"][item["key"]], encoding="utf-8")
    roles = [r for r in ("inputs", "predictions") if r in config]
    assert roles == ["inputs", "predictions"]
    for role in roles:
        spec = config[role]["contract"]
        assert spec.startswith(mount["mountPath"] + "/"), f"{role}: {spec} is not under {mount['mountPath']}"
        name = spec.removeprefix(mount["mountPath"] + "/")
        contract = DataContract.load(tmp_path, name)
        assert (contract.name, contract.version) == (name, 1)


def test_the_pod_monitor_scrapes_the_sidecars_metrics_port(example: list[dict[str, Any]], tmp_path: Path) -> None:
    pod = _pod(example)
    sidecar = _sidecar(pod)
    monitor = _one(example, "PodMonitor")
    labels = pod["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert "app.kubernetes.io/instance" in monitor["spec"]["selector"]["matchLabels"]  # the overlay's label
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    (port,) = [p for p in sidecar["ports"] if p["name"] == endpoint["port"]]
    assert port["containerPort"] == HttpSettings().port == 9464
    assert endpoint["path"] == "/metrics"
    # The scrape path and the probe paths are routes of the sidecar's own app.
    settings = Settings(model="churn", inputs={"topic": "t", "contract": str(EXAMPLE / "contracts" / "churn_inputs")},
                        store={"path": str(tmp_path / "store")})
    routes = {r.resource.canonical for r in create_app(settings).router.routes() if r.resource is not None}
    probes = {sidecar[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")}
    assert probes == {"/healthz", "/readyz"}
    assert sidecar["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {endpoint["path"], *probes} <= routes
    assert {sidecar[p]["httpGet"]["port"] for p in ("livenessProbe", "readinessProbe")} == {port["name"]}


def test_memory_and_shutdown_fit_what_was_measured(example: list[dict[str, Any]]) -> None:
    pod = _pod(example)
    resources = _sidecar(pod)["resources"]
    request = _bytes(resources["requests"]["memory"])
    limit = _bytes(resources["limits"]["memory"])
    assert MEASURED_PEAK_BYTES < request < limit <= 2 * MEASURED_PEAK_BYTES
    assert "cpu" not in resources["limits"]  # a CPU limit below 2 would turn the ingest worker off
    # The sidecar is stopped after the model has exited, inside the same grace period.
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    assert grace >= SHUTDOWN_TIMEOUT_SECONDS + 20
    budget = _one(example, "PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert budget["spec"]["maxUnavailable"] < _one(example, "Deployment")["spec"]["replicas"]


def _bytes(quantity: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 1e3, "M": 1e6, "G": 1e9, "": 1}
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]i?)?", quantity).groups("")  # type: ignore[union-attr]
    return float(number) * units[unit]


# The parts of the Prometheus Operator's CRD schemas (monitoring.coreos.com/v1, operator v0.7x) that our
# objects use, closed to unknown fields like the API server's strict field validation.
_SELECTOR = {"type": "object", "additionalProperties": False, "required": ["matchLabels"],
             "properties": {"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}}}
_DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?"
             r"(([0-9]+)s)?(([0-9]+)ms)?)$"}
_META = {"type": "object", "required": ["name"],
         "properties": {"name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
                        "namespace": {"type": "string"}, "labels": {"type": "object"}}}
_CUSTOM_SCHEMAS: dict[str, dict[str, Any]] = {
    "PodMonitor": {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"], "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": f"{CUSTOM_GROUP}/v1"}, "kind": {"const": "PodMonitor"}, "metadata": _META,
            "spec": {"type": "object", "additionalProperties": False, "required": ["selector", "podMetricsEndpoints"],
                     "properties": {
                         "selector": _SELECTOR,
                         "podMetricsEndpoints": {"type": "array", "minItems": 1, "items": {
                             "type": "object", "additionalProperties": False, "required": ["port"],
                             "properties": {"port": {"type": "string"}, "path": {"type": "string"},
                                            "interval": _DURATION, "scrapeTimeout": _DURATION,
                                            "scheme": {"enum": ["http", "https"]}}}}}}}},
    "PrometheusRule": {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"], "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": f"{CUSTOM_GROUP}/v1"}, "kind": {"const": "PrometheusRule"}, "metadata": _META,
            "spec": {"type": "object", "additionalProperties": False, "required": ["groups"], "properties": {
                "groups": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False, "required": ["name", "rules"], "properties": {
                        "name": {"type": "string", "minLength": 1}, "interval": _DURATION,
                        "rules": {"type": "array", "minItems": 1, "items": {
                            "type": "object", "additionalProperties": False, "required": ["expr"],
                            "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
                            "properties": {
                                "alert": {"type": "string"}, "record": {"type": "string"},
                                "expr": {"type": ["string", "integer"]}, "for": _DURATION,
                                "keep_firing_for": _DURATION,
                                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                                "annotations": {"type": "object",
                                                "additionalProperties": {"type": "string"}}}}}}}}}}}},
}


def test_custom_resources_have_the_operator_shape(example: list[dict[str, Any]]) -> None:
    for kind, schema in _CUSTOM_SCHEMAS.items():
        obj = _one(example, kind)
        jsonschema.validate(obj, schema)
        broken = copy.deepcopy(obj)
        broken["spec"]["selectr" if kind == "PodMonitor" else "group"] = {}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)


def test_the_prometheus_rule_groups_pass_promtool(example: list[dict[str, Any]], tmp_path: Path) -> None:
    promtool = required_tool("promtool")
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": _one(example, "PrometheusRule")["spec"]["groups"]}), encoding="utf-8")
    proc = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"SUCCESS: \d+ rules found", proc.stdout + proc.stderr)
