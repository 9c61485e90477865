"""Contract files: versioning, immutability, round trips, tamper and format detection."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from custom_fns import total_variation

from sidecar import DataContract, ValidationReport
from sidecar.contract import versions
from sidecar.errors import ContractFileError, ContractNotFoundError


def _configured(reference: pd.DataFrame) -> DataContract:
    c = DataContract("churn_inputs", reference)
    c.distribution_test.configure(["tenure", "plan"], threshold=0.2, method="psi")
    c.distribution_test.configure(["spend"], threshold=0.1, method="l-infinity")
    c.distribution_test.configure(["age"], threshold=0.05, method=total_variation)
    c.special_value_test.configure(["spend"], thresholds={np.nan: 0.1, -1: 0.2})
    c.min_max_test.configure(["age"], lower_bound=0, upper_bound=120)
    c.domain_test.configure(["country"])
    c.uniqueness_test.configure(["cust_id"])
    c.custom_test.configure("spend_not_negative", "custom_fns:spend_ok", columns=["spend"])
    return c


def _stable(report: ValidationReport) -> list[dict]:
    return [r.model_dump() for r in report.results]


def test_save_load_round_trip_gives_identical_results(tmp_path: Path, reference, current) -> None:
    c = _configured(reference)
    path = c.save(tmp_path)
    assert path == tmp_path / "churn_inputs" / "v1.json"
    loaded = DataContract.load(tmp_path, "churn_inputs")
    drifted = current.assign(tenure=current["tenure"] * 1.5)
    for frame in (current, drifted, current.iloc[:0]):
        assert _stable(loaded.validate(frame)) == _stable(c.validate(frame))
    assert loaded.version == 1 and loaded.sha256 == c.sha256


def test_save_never_overwrites_and_dedupes(tmp_path: Path, reference) -> None:
    c = DataContract("churn_inputs", reference)
    p1 = c.save(tmp_path)
    assert c.save(tmp_path) == p1  # nothing changed: same path, no new file
    assert not os.stat(p1).st_mode & stat.S_IWUSR
    c.distribution_test.configure(["tenure"], threshold=0.3)
    p2 = c.save(tmp_path)
    assert p2.name == "v2.json" and versions(tmp_path, "churn_inputs") == [1, 2]
    assert DataContract.load(tmp_path, "churn_inputs", version=1).distribution_test.settings["tenure"].critical == 0.2
    assert DataContract.load(tmp_path, "churn_inputs").distribution_test.settings["tenure"].critical == 0.3
    assert DataContract.from_path(tmp_path / "churn_inputs").version == 2
    assert DataContract.from_path(p1).version == 1


def test_file_is_readable_json_with_required_fields(tmp_path: Path, reference) -> None:
    doc = json.loads(_configured(reference).save(tmp_path).read_text())
    assert doc["format_version"] == 1
    assert {"reference", "checks", "sha256", "created_at", "name", "version"} <= doc.keys()
    assert "pickle" not in json.dumps(doc)


def test_lambda_cannot_be_saved(tmp_path: Path, reference) -> None:
    c = DataContract("churn_inputs", reference)
    c.distribution_test.configure(["age"], threshold=0.1, method=lambda a, b: 0.0)
    assert c.validate(reference).status.value == "healthy"  # works in memory
    with pytest.raises(ValueError, match="lambda"):
        c.save(tmp_path)
    assert versions(tmp_path, "churn_inputs") == []


def test_tampered_file_fails_clearly(tmp_path: Path, reference) -> None:
    path = DataContract("churn_inputs", reference).save(tmp_path)
    doc = json.loads(path.read_text())
    doc["checks"]["distribution"]["age"]["critical"] = 99
    path.chmod(0o644)
    path.write_text(json.dumps(doc))
    with pytest.raises(ContractFileError, match="sha256 mismatch"):
        DataContract.load(tmp_path, "churn_inputs")


def test_unknown_format_fails_clearly(tmp_path: Path, reference) -> None:
    path = DataContract("churn_inputs", reference).save(tmp_path)
    doc = json.loads(path.read_text())
    doc["format_version"] = 7
    path.chmod(0o644)
    path.write_text(json.dumps(doc))
    with pytest.raises(ContractFileError, match="format_version 7"):
        DataContract.load(tmp_path, "churn_inputs")
    path.write_text("not json")
    with pytest.raises(ContractFileError, match="not a JSON"):
        DataContract.load(tmp_path, "churn_inputs")


def test_missing_contract_and_version(tmp_path: Path, reference) -> None:
    with pytest.raises(ContractNotFoundError):
        DataContract.load(tmp_path, "nope")
    DataContract("churn_inputs", reference).save(tmp_path)
    with pytest.raises(ContractNotFoundError, match="saved versions: \\[1\\]"):
        DataContract.load(tmp_path, "churn_inputs", version=3)


def test_bad_names_are_rejected(reference) -> None:
    for bad in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(ValueError):
            DataContract(bad, reference)


def test_contract_file_stays_small(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    df = pd.DataFrame({f"f{i}": rng.normal(size=n) for i in range(20)})
    df["cat"] = rng.choice([f"c{i}" for i in range(200)], n)
    path = DataContract("big", df).save(tmp_path)
    assert path.stat().st_size / df.shape[1] < 20_000  # statistics, never rows


def test_loaded_contract_can_rethreshold_but_not_add_special_values(tmp_path: Path, reference) -> None:
    _configured(reference).save(tmp_path)
    c = DataContract.load(tmp_path, "churn_inputs")
    c.special_value_test.configure(["spend"], thresholds={-1: 0.5})
    with pytest.raises(ValueError, match="does not track"):
        c.special_value_test.configure(["spend"], thresholds={-999: 0.5})
