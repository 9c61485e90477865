"""One contract-path resolver: ``DIR/NAME`` or ``DIR/NAME/vN.json``, the same for the SDK and every command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run

from sidecar import DataContract
from sidecar.contract.registry import contract_folder, resolve_contract
from sidecar.errors import ContractNotFoundError


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    df = pd.DataFrame({"x": np.arange(300.0)})
    DataContract("churn", df).save(tmp_path / "store.json")  # a contracts directory named like a file
    return tmp_path / "store.json"


def test_a_directory_named_like_a_file_is_refused_the_same_way_everywhere(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], saved: Path) -> None:
    folder = tmp_path / "inputs.json"
    folder.mkdir()
    messages = set()
    for call in (resolve_contract, DataContract.from_path, contract_folder):
        with pytest.raises(ContractNotFoundError) as info:
            call(folder)
        messages.add(str(info.value))
    (message,) = messages
    assert "is a directory, not a contract file" in message and "never end in .json" in message
    for argv in (["contract", "show", str(folder)], ["contract", "versions", str(folder)],
                 ["validate", "--contract", str(folder), "--data", str(tmp_path / "none.csv")]):
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert_one_line_error(err, "is a directory, not a contract file")


def test_a_contracts_directory_named_like_a_file_works_and_hints(saved: Path) -> None:
    assert resolve_contract(saved / "churn") == saved / "churn" / "v1.json"
    assert resolve_contract(saved / "churn" / "v1.json") == saved / "churn" / "v1.json"
    assert DataContract.from_path(saved / "churn").version == 1
    assert contract_folder(saved / "churn" / "v1.json") == (saved, "churn")
    with pytest.raises(ContractNotFoundError, match=r"is a contracts directory, not a contract.*holds churn"):
        DataContract.from_path(saved)


def test_missing_names_and_files(tmp_path: Path) -> None:
    with pytest.raises(ContractNotFoundError, match="no contract 'nope' under"):
        DataContract.from_path(tmp_path / "nope")
    with pytest.raises(ContractNotFoundError, match="does not exist"):
        resolve_contract(tmp_path / "nope" / "v1.json")
