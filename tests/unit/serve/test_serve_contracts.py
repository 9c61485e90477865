"""The contract registry as ``GET /contracts`` shows it: names, versions, verified hashes, tampering named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from sidecar import DataContract
from sidecar.serve.contracts import ContractIndex


def test_names_versions_and_hashes(tmp_path: Path, reference: pd.DataFrame) -> None:
    first = DataContract("churn_inputs", reference.head(500)).save(tmp_path)
    second = DataContract("churn_inputs", reference.head(800)).save(tmp_path)
    DataContract("fraud", reference.head(300)).save(tmp_path)
    (tmp_path / "not-a-contract").mkdir()
    index = ContractIndex(tmp_path)
    assert index.names() == ["churn_inputs", "fraud"]
    entry = index.entry("churn_inputs")
    assert entry is not None and entry.latest_version == 2
    assert [v.version for v in entry.versions] == [1, 2]
    for version, path in zip(entry.versions, (first, second), strict=True):
        raw = json.loads(Path(path).read_text())
        assert (version.sha256, version.error) == (raw["sha256"], None)
        assert version.created_at is not None


def test_unknown_and_impossible_names_are_none(tmp_path: Path) -> None:
    index = ContractIndex(tmp_path)
    assert index.entry("nope") is None and index.entry("..") is None and index.entry("../etc") is None
    assert ContractIndex(tmp_path / "missing").entries() == []


def test_a_tampered_file_is_listed_with_its_error(tmp_path: Path, reference: pd.DataFrame) -> None:
    path = Path(DataContract("churn_inputs", reference.head(500)).save(tmp_path))
    index = ContractIndex(tmp_path)
    assert index.entry("churn_inputs").versions[0].error is None  # type: ignore[union-attr]
    raw = json.loads(path.read_text())
    raw["warnings"] = ["edited"]
    os.chmod(path, 0o644)
    path.write_text(json.dumps(raw))
    [version] = index.entry("churn_inputs").versions  # type: ignore[union-attr]
    assert version.sha256 is None and "sha256 mismatch" in (version.error or "")
    assert str(tmp_path) not in (version.error or "")
