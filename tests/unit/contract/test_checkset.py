"""The contract's check set: no reference rows kept, state on its owner, and the circle it broke."""

from __future__ import annotations

import ast
import gc
import pickle
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sidecar.contract.spec as spec_module
from sidecar import DataContract
from sidecar.contract.checkset import CheckSet

CONTRACT_DIR = Path(__file__).resolve().parents[3] / "sidecar" / "contract"


def _frame(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    spend = rng.normal(100, 20, n)
    spend[::50] = -1
    return pd.DataFrame({"spend": spend, "plan": rng.choice(["a", "b", "c"], n)})


def test_the_contract_holds_no_reference_frame() -> None:
    df = _frame()
    gone = weakref.ref(df)
    contract = DataContract("rows", df)
    contract.special_value_test.configure(["spend"], thresholds={-1: 0.2})  # counted while the frame is held
    del df
    gc.collect()
    assert gone() is None
    assert contract.reference.columns["spend"].special_count(-1) == 20
    assert contract.validate(_frame(seed=1)).status.value == "healthy"


def test_a_new_special_value_once_the_frame_is_gone_says_how_to_add_it() -> None:
    contract = DataContract("rows", _frame())  # the frame is a temporary: freed when the call returns
    gc.collect()
    contract.special_value_test.configure(["spend"], thresholds={np.nan: 0.1})  # tracked: fine
    with pytest.raises(ValueError, match=r"does not track \[-1\].*while you still hold that frame"):
        contract.special_value_test.configure(["spend"], thresholds={-1: 0.2})


def test_a_spec_counts_its_special_values_while_it_builds() -> None:
    spec = {"name": "s", "ignore": ["plan"], "columns": {"spend": {"special_values": {"rules": [{"value": -1}]}}}}
    contract = DataContract.from_spec(_frame(), spec)
    assert contract.reference.columns["spend"].special_count(-1) == 20
    assert contract.to_spec()["ignore"] == ["plan"]  # the spec's origin is held by the contract


def test_a_contract_pickles_without_its_rows() -> None:
    df = _frame()
    contract = DataContract("rows", df)
    copy = pickle.loads(pickle.dumps(contract))
    assert copy._body() == contract._body()
    assert copy.checks._rows is None and contract.checks._rows is not None
    copy.distribution_test.configure(["spend"], threshold=0.3)
    assert copy.version is None and copy.settings["distribution"]["spend"].critical == 0.3


def test_a_column_name_holding_the_key_separator_is_one_column() -> None:
    df = _frame().rename(columns={"spend": "spend::usd"})
    contract = DataContract("sep", df)
    contract.custom_test.configure("positive", "custom_fns:spend_ok", columns=["spend::usd"])
    report = contract.validate(df)
    assert report.status.value == "healthy", [r for r in report.results if r.status.value != "healthy"]
    assert {r.column for r in report.results if r.check == "min_max"} == {"spend::usd"}
    assert {r.column for r in report.results if r.check == "custom"} == {"spend::usd"}
    assert DataContract.from_spec(df, contract.to_spec())._body()["checks"] == contract._body()["checks"]


def test_no_module_level_origin_table() -> None:
    assert not hasattr(spec_module, "_ORIGINS")


@pytest.mark.parametrize("module", ["accessor", "checkset", "diff", "spec"])
def test_the_parts_of_a_contract_do_not_import_it(module: str) -> None:
    tree = ast.parse((CONTRACT_DIR / f"{module}.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "sidecar.contract.datacontract" not in imported
    assert "sidecar.contract" not in imported or module != "checkset"


def test_data_contract_stays_under_twenty_methods() -> None:
    tree = ast.parse((CONTRACT_DIR / "datacontract.py").read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "DataContract"]
    methods = [n.name for n in cls.body if isinstance(n, ast.FunctionDef)]
    assert len(methods) < 20, methods


def test_check_set_alone_configures_and_runs() -> None:
    df = _frame()
    contract = DataContract("alone", df, defaults=False)
    checks = CheckSet(contract.reference, df)
    checks.enable_defaults()
    checks.configure_named("custom", "ok", "custom_fns:spend_ok", columns=["spend"])
    assert list(checks.of("custom")) == ["spend::ok"]
    rows = checks.run(contract.profile(df))
    assert {r.check for r in rows} >= {"schema", "special_values", "custom"}
    checks.disable("custom", "spend")
    assert checks.of("custom") == {}
