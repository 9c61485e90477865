"""Contract specs: round trips through every accessor, the JSON Schema, and errors that name key and line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from custom_fns import total_variation

from sidecar import DataContract
from sidecar.contract.fileformat import content_hash
from sidecar.errors import ConfigurationError

SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "spec.schema.json"

# Each configures a contract through one accessor (or a combination); the spec must reproduce it exactly.
CONFIGURATIONS: dict[str, Callable[[DataContract], object]] = {
    "defaults only": lambda c: None,
    "distribution methods": lambda c: (
        c.distribution_test.configure(["tenure", "plan"], threshold=0.2, method="psi"),
        c.distribution_test.configure(["spend"], warning=0.05, critical=0.1, method="l-infinity"),
        c.distribution_test.configure(["signup"], method="ks", false_alarm_warning=0.05, false_alarm_critical=0.01)),
    "custom distance": lambda c: c.distribution_test.configure(["age"], threshold=0.05, method=total_variation),
    "custom distance by path": lambda c: c.distribution_test.configure(["age"], critical=0.3,
                                                                         method="custom_fns:total_variation"),
    "special values": lambda c: c.special_value_test.configure(["spend"], thresholds={np.nan: 0.1, -1: 0.2}),
    "special values per-value warning": lambda c: c.special_value_test.configure(
        ["spend", "age"], thresholds={None: {"warning": 0.01, "critical": 0.02}, 0: 0.3}, false_alarm_critical=1e-4),
    "special values shared": lambda c: c.special_value_test.configure(["plan"], values=["basic", None], threshold=0.2),
    "min_max": lambda c: c.min_max_test.configure(["age"], lower_bound=0, upper_bound=120),
    "min_max one side": lambda c: c.min_max_test.configure(["tenure"], upper_bound=99.5, warning=0.0, critical=0.2),
    "min_max on identifier": lambda c: c.min_max_test.configure(["cust_id"], lower_bound=0),
    "domain": lambda c: c.domain_test.configure(["country"], threshold=0.05),
    "domain allowed": lambda c: c.domain_test.configure(["plan"], allowed=["basic", "plus"]),
    "uniqueness": lambda c: c.uniqueness_test.configure(["cust_id"]),
    "uniqueness exact rows": lambda c: c.uniqueness_test.configure(["cust_id", "plan"], exact_rows=1000, threshold=0.5),
    "row count": lambda c: c.row_count_test.configure(expected=1000, warning=0.2),
    "schema": lambda c: c.schema_test.configure(added="critical", reordered="healthy"),
    "custom checks": lambda c: (
        c.custom_test.configure("spend_not_negative", "custom_fns:spend_ok", columns=["spend"]),
        c.custom_test.configure("moved", "custom_fns:max_moved", columns=["age", "tenure"], warning=1, critical=5)),
    "disabled": lambda c: (c.distribution_test.disable(["plan", "age"]), c.min_max_test.disable(),
                           c.schema_test.disable(), c.special_value_test.disable(["spend"])),
    "all disabled but one": lambda c: [getattr(c, a).disable() for a in (
        "schema_test", "row_count_test", "special_value_test", "min_max_test", "domain_test", "distribution_test")]
        + [c.uniqueness_test.configure(["cust_id"])],
}


@pytest.mark.parametrize("name", list(CONFIGURATIONS))
def test_to_spec_from_spec_round_trip(name: str, reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    CONFIGURATIONS[name](c)
    spec = c.to_spec()
    # Through JSON text and through YAML text: what a person would store.
    for text_spec in (json.loads(json.dumps(spec)), yaml.safe_load(yaml.safe_dump(spec))):
        again = DataContract.from_spec(reference, text_spec)
        assert again._body()["checks"] == c._body()["checks"]
        assert content_hash(again._body()) == content_hash(c._body())
        assert again.to_spec() == spec


def test_every_configuration_at_once_round_trips_and_validates_against_the_schema(reference: pd.DataFrame) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    c = DataContract("churn", reference)
    for configure in CONFIGURATIONS.values():
        if configure is not CONFIGURATIONS["all disabled but one"]:
            configure(c)
    spec = c.to_spec()
    kinds = {k for entry in spec["columns"].values() for k in entry} | set(spec.get("table", {}))
    assert kinds == {"special_values", "min_max", "uniqueness", "domain", "distribution", "custom", "row_count",
                     "schema"}
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(spec, schema)
    again = DataContract.from_spec(reference, spec)
    assert again._body()["checks"] == c._body()["checks"]


def test_hand_written_spec_with_every_key_validates_against_the_schema(tmp_path: Path, reference) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    path = tmp_path / "spec.yaml"
    path.write_text(FULL_SPEC)
    data = yaml.safe_load(FULL_SPEC)
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    c = DataContract.from_spec(reference.assign(notes="x"), path)
    assert c.name == "churn" and "notes" not in c.columns
    s = c.settings
    assert s["row_count"]["*"].expected == 5000 and s["row_count"]["*"].critical == 0.5
    assert s["schema"]["*"].added == "critical"
    assert s["distribution"]["tenure"].method == "ks"
    assert s["distribution"]["spend"].method == "custom_fns:total_variation"
    assert "plan" not in s["distribution"] and "age" not in s["min_max"]
    assert s["min_max"]["tenure"].upper_bound == 120.0
    assert [(r.value, r.critical) for r in s["special_values"]["spend"].rules] == [(None, 0.1), (-1, 0.2)]
    assert s["domain"]["plan"].allowed == ("basic", "plus", "pro")
    assert s["uniqueness"]["cust_id"].exact_rows == 100
    assert s["custom"]["spend::spend_not_negative"].function == "custom_fns:spend_ok"
    assert s["distribution"]["signup"].false_alarm_critical == 1e-4
    assert c.reference.columns["cust_id"].spec.identifier
    # Profile options reached the profile: 10 quantile bins, so at most 11 edges.
    assert len(c.reference.columns["tenure"].spec.edges) == 11
    assert c.to_spec()["profile"] == {"bins": 10, "min_value_count": 3} and c.to_spec()["ignore"] == ["notes"]


FULL_SPEC = """\
# contract spec
name: churn
defaults: true
profile: {bins: 10, min_value_count: 3}
identifiers: [cust_id]
ignore: [notes]
table:
  schema: {added: critical, reordered: warning, dtype_changed: warning}
  row_count: {expected: 5000, warning: 0.2, critical: 0.5}
columns:
  "t*":
    distribution: {method: ks, critical: 0.2}
    min_max: {upper_bound: 120}
  spend:
    special_values:
      rules:
        - {value: null, critical: 0.1}      # missing
        - {value: -1, threshold: 0.2}
    distribution: {method: "custom_fns:total_variation", warning: 0.05, critical: 0.1}
    custom:
      - {name: spend_not_negative, function: "custom_fns:spend_ok"}
  plan:
    distribution: false
    domain: {allowed: [basic, plus, pro], threshold: 0.01}
  age:
    min_max: false
  cust_id:
    uniqueness: {exact_rows: 100}
  signup:
    distribution: {false_alarm_warning: 0.001, false_alarm_critical: 0.0001}
"""


def test_defaults_false_keeps_only_what_is_listed(reference: pd.DataFrame) -> None:
    c = DataContract.from_spec(reference, {"name": "x", "defaults": False,
                                           "columns": {"age": {"min_max": True}}})
    assert list(c.settings) == ["min_max"] and list(c.settings["min_max"]) == ["age"]


def test_later_entries_reconfigure_what_a_pattern_set(reference: pd.DataFrame) -> None:
    spec = {"name": "x", "columns": {"*": {"distribution": False}, "tenure": {"distribution": {"method": "ks"}}}}
    c = DataContract.from_spec(reference, spec)
    assert list(c.settings["distribution"]) == ["tenure"]


def test_name_argument_overrides_the_spec_and_one_is_needed(reference: pd.DataFrame) -> None:
    assert DataContract.from_spec(reference, {"name": "a"}, name="b").name == "b"
    with pytest.raises(ConfigurationError, match="names no contract"):
        DataContract.from_spec(reference, {})


def test_a_lambda_cannot_be_written_to_a_spec(reference: pd.DataFrame) -> None:
    c = DataContract("churn", reference)
    c.distribution_test.configure(["age"], threshold=0.1, method=lambda r, k: 0.0)
    with pytest.raises(ValueError, match="no import path"):
        c.to_spec()


# -- errors: key and line ---------------------------------------------------------------------------
def _write(tmp_path: Path, text: str, suffix: str = ".yaml") -> Path:
    path = tmp_path / f"spec{suffix}"
    path.write_text(text)
    return path


def test_typo_names_key_line_and_suggestion(tmp_path: Path, reference: pd.DataFrame) -> None:
    path = _write(tmp_path, "name: churn\ntable:\n  row_count:\n    warning: 0.1\n    expeted: 500\n")
    with pytest.raises(ConfigurationError) as err:
        DataContract.from_spec(reference, path)
    message = str(err.value)
    assert "unknown key 'expeted'" in message and "line 5" in message and "did you mean 'expected'?" in message
    assert "table.row_count" in message and str(path) in message


def test_unknown_top_level_and_column_check_keys(tmp_path: Path, reference: pd.DataFrame) -> None:
    with pytest.raises(ConfigurationError, match=r"unknown key 'colums' in the top level at line 2; "
                       r"did you mean 'columns'"):
        DataContract.from_spec(reference, _write(tmp_path, "name: churn\ncolums: {}\n"))
    text = "name: churn\ncolumns:\n  age:\n    min_max: {lower_bound: 0}\n    distributon: {method: psi}\n"
    with pytest.raises(ConfigurationError, match=r"unknown key 'distributon' in columns.age at line 5; "
                       r"did you mean 'distribution'"):
        DataContract.from_spec(reference, _write(tmp_path, text))
    text = "name: churn\ncolumns:\n  age:\n    min_max: {lower_bound: 0, uper_bound: 3}\n"
    with pytest.raises(ConfigurationError, match=r"unknown key 'uper_bound' in columns.age.min_max at line 4; "
                       r"did you mean 'upper_bound'"):
        DataContract.from_spec(reference, _write(tmp_path, text))


def test_json_file_errors_have_lines_too(tmp_path: Path, reference: pd.DataFrame) -> None:
    text = '{\n  "name": "churn",\n  "columns": {\n    "age": {"uniqueness": {"exact_rowz": 3}}\n  }\n}\n'
    with pytest.raises(ConfigurationError, match=r"unknown key 'exact_rowz' in columns.age.uniqueness at line 4"):
        DataContract.from_spec(reference, _write(tmp_path, text, ".json"))
    with pytest.raises(ConfigurationError, match=r"line 2: not valid JSON"):
        DataContract.from_spec(reference, _write(tmp_path, '{"name": "x",\n  oops}', ".json"))


def test_unknown_columns_and_patterns_name_key_and_line(tmp_path: Path, reference: pd.DataFrame) -> None:
    text = "name: churn\ncolumns:\n  age: {min_max: true}\n  agee: {min_max: true}\n"
    with pytest.raises(ConfigurationError, match=r"line 4, at columns.agee: unknown column 'agee'"):
        DataContract.from_spec(reference, _write(tmp_path, text))
    text = "name: churn\ncolumns:\n\n  spend_*: {distribution: false}\n"
    with pytest.raises(ConfigurationError, match=r"line 4, at columns.spend_\*: pattern 'spend_\*' matches no column"):
        DataContract.from_spec(reference, _write(tmp_path, text))
    text = "name: churn\nidentifiers: [cust_id, nope]\n"
    with pytest.raises(ConfigurationError, match=r"line 2, at identifiers.1: unknown column 'nope'"):
        DataContract.from_spec(reference, _write(tmp_path, text))
    text = "name: churn\nignore: [age]\ncolumns:\n  age: {min_max: true}\n"
    with pytest.raises(ConfigurationError, match=r"line 4, at columns.age: column 'age' is listed under `ignore`"):
        DataContract.from_spec(reference, _write(tmp_path, text))


def test_check_errors_come_from_configure_with_the_line(tmp_path: Path, reference: pd.DataFrame) -> None:
    text = "name: churn\ncolumns:\n  plan:\n    min_max: {lower_bound: 0}\n  age:\n    distribution: {method: nope}\n"
    with pytest.raises(ConfigurationError, match=r"line 4, at columns.plan.min_max: min_max: column 'plan' is"):
        DataContract.from_spec(reference, _write(tmp_path, text))
    text = "name: churn\ncolumns:\n  age:\n    distribution: {method: nope}\n"
    with pytest.raises(ConfigurationError, match=r"line 4, at columns.age.distribution: .*'nope'"):
        DataContract.from_spec(reference, _write(tmp_path, text))
    text = "name: churn\ntable:\n  row_count: {critical: 0.5}\n"
    with pytest.raises(ConfigurationError, match=r"line 3, at table.row_count: row_count: thresholds need expected="):
        DataContract.from_spec(reference, _write(tmp_path, text))


def test_wrong_value_types_duplicates_and_bad_files(tmp_path: Path, reference: pd.DataFrame) -> None:
    with pytest.raises(ConfigurationError, match=r"line 3, at table.row_count.expected: .*got 'many'"):
        DataContract.from_spec(reference, _write(tmp_path, "name: churn\ntable:\n  row_count: {expected: many}\n"))
    with pytest.raises(ConfigurationError, match=r"duplicate key 'age' at line 4 \(first at line 3\)"):
        DataContract.from_spec(reference, _write(tmp_path, "name: c\ncolumns:\n  age: {}\n  age: {}\n"))
    with pytest.raises(ConfigurationError, match=r"line 3: not valid YAML"):
        DataContract.from_spec(reference, _write(tmp_path, "name: c\ncolumns: [\n"))
    with pytest.raises(ConfigurationError, match="does not exist"):
        DataContract.from_spec(reference, tmp_path / "missing.yaml")
    with pytest.raises(ConfigurationError, match=r"\.yaml, \.yml or \.json"):
        DataContract.from_spec(reference, _write(tmp_path, "name: c\n", ".txt"))
    with pytest.raises(ConfigurationError, match="a spec is a mapping"):
        DataContract.from_spec(reference, _write(tmp_path, "- a\n"))


def test_dict_spec_errors_name_the_key_without_a_line(reference: pd.DataFrame) -> None:
    with pytest.raises(ConfigurationError, match=r"^spec: unknown key 'methd' in columns.age.distribution; "
                       r"did you mean 'method'"):
        DataContract.from_spec(reference, {"name": "c", "columns": {"age": {"distribution": {"methd": "psi"}}}})
