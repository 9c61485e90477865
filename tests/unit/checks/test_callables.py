"""Callables handed over in memory are held by the settings that call them, not by a process-wide table."""

from __future__ import annotations

import gc
import pickle
import weakref

import numpy as np
import pandas as pd
import pytest
from custom_fns import total_variation

import sidecar.checks.callables as callables
from sidecar import DataContract, ValidationReport
from sidecar.errors import ConfigurationError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"x": rng.normal(size=500), "y": rng.choice(["a", "b"], 500)})


def test_no_module_level_table() -> None:
    assert not [n for n, v in vars(callables).items() if isinstance(v, dict) and not n.startswith("__")]


def test_a_lambda_lives_as_long_as_its_contract(frame: pd.DataFrame) -> None:
    contract = DataContract("lam", frame)
    fn = lambda ref, cur: 0.0  # noqa: E731
    alive = weakref.ref(fn)
    contract.distribution_test.configure(["x"], threshold=0.1, method=fn)
    contract.custom_test.configure("always", fn, columns=["y"])
    del fn
    gc.collect()
    assert alive() is not None  # held by the contract's settings
    assert contract.validate(frame).status.value == "healthy"
    del contract
    gc.collect()
    assert alive() is None  # and by nothing else


def test_a_pickled_contract_leaves_in_memory_functions_behind(frame: pd.DataFrame) -> None:
    contract = DataContract("lam", frame)
    contract.distribution_test.configure(["x"], threshold=0.1, method=lambda ref, cur: 0.0)
    contract.distribution_test.configure(["y"], threshold=0.1, method=total_variation)
    copy = pickle.loads(pickle.dumps(contract))
    settings = copy.settings["distribution"]
    with pytest.raises(ConfigurationError, match="defined in another process"):
        settings["x"].target(settings["x"].method)
    assert settings["y"].target(settings["y"].method) is total_variation  # imported again by path
    # The copy's x row is "not run" (its lambda stayed behind), so the report's family of tests is one smaller
    # and the levels it shares differ: y's own measurements and verdicts are what must match.
    def own(report: ValidationReport) -> list[tuple[object, ...]]:
        return [(r.check, r.status, r.value, r.details.get("p_value")) for r in report.results if r.column == "y"]

    assert own(copy.validate(frame)) == own(contract.validate(frame))
