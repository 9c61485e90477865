"""Closed domains: a value the reference never saw, in a column whose every value it saw many times, is news.

Issue 18 item 3: in a closed domain any unseen value is at least a warning, critical from 1 % of the rows;
open domains (many singletons) keep the Good-Turing noise bound.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sidecar import CheckResult, DataContract, Status, ValidationReport

PLANETS = np.array(["mercury", "venus", "earth", "jupiter", "saturn"], dtype=object)


def _domain(report: ValidationReport, column: str) -> CheckResult:
    (row,) = [r for r in report.results if r.check == "domain" and r.column == column]
    return row


def _planets(rng: np.random.Generator, n: int, new: int = 0) -> pd.DataFrame:
    values = rng.choice(PLANETS, n)
    values[rng.choice(n, new, replace=False)] = "martian"
    return pd.DataFrame({"planet": values, "x": rng.normal(0, 1, n)})


def test_five_rows_of_a_new_value_in_a_closed_domain_are_a_warning() -> None:
    rng = np.random.default_rng(1)
    contract = DataContract("planets", _planets(rng, 10_000))  # every planet seen about 2,000 times
    row = _domain(contract.validate(_planets(rng, 10_000, new=5)), "planet")
    assert row.status is Status.WARNING, row
    assert row.details["closed_domain"] is True and row.details["unseen_rows"] == 5
    assert row.details["unseen_examples"] == ["martian"] and "unseen_examples_hashed" not in row.details
    assert row.value is not None and row.value < row.warning  # 0.05 %: under the effect size, flagged anyway


def test_two_percent_of_a_new_value_in_a_closed_domain_is_critical() -> None:
    rng = np.random.default_rng(2)
    contract = DataContract("planets", _planets(rng, 10_000))
    row = _domain(contract.validate(_planets(rng, 10_000, new=200)), "planet")
    assert row.status is Status.CRITICAL, row
    assert row.details["unseen_examples"] == ["martian"]


def test_a_closed_domain_without_new_values_is_healthy() -> None:
    rng = np.random.default_rng(3)
    contract = DataContract("planets", _planets(rng, 10_000))
    row = _domain(contract.validate(_planets(rng, 10_000)), "planet")
    assert row.status is Status.HEALTHY and row.details["closed_domain"] is True


def test_closed_false_judges_by_noise_alone() -> None:
    rng = np.random.default_rng(4)
    contract = DataContract("planets", _planets(rng, 10_000))
    contract.domain_test.configure(["planet"], closed=False)
    row = _domain(contract.validate(_planets(rng, 10_000, new=5)), "planet")
    assert row.status is Status.HEALTHY and row.details["closed_domain"] is False


def test_an_open_domain_with_a_few_new_values_stays_healthy() -> None:
    # 3 common codes plus about 600 codes seen once each: Good-Turing says 6 % of new rows hold unseen values.
    rng = np.random.default_rng(5)
    codes = rng.choice(np.array(["a", "b", "c"], dtype=object), 10_000)
    rare = rng.random(10_000) < 0.06
    codes[rare] = [f"code{i}" for i in range(int(rare.sum()))]
    contract = DataContract("codes", pd.DataFrame({"code": codes}))
    current = pd.DataFrame({"code": rng.choice(np.array(["a", "b", "c"], dtype=object), 1_000)})
    current.iloc[:10, 0] = [f"brand_new{i}" for i in range(10)]  # 1 % of rows, far under the 6 % expected
    row = _domain(contract.validate(current), "code")
    assert row.details["closed_domain"] is False
    assert row.status is Status.HEALTHY, row
    # The reference keeps its rare codes hashed; the report lists the new ones hashed too.
    assert row.details["unseen_examples_hashed"] is True
    assert not any(str(v).startswith("brand_new") for v in row.details["unseen_examples"])


def test_an_explicit_list_is_closed_when_the_reference_keeps_to_it() -> None:
    rng = np.random.default_rng(6)
    contract = DataContract("planets", _planets(rng, 2_000))
    contract.domain_test.configure(["planet"], allowed=list(PLANETS))
    row = _domain(contract.validate(_planets(rng, 2_000, new=1)), "planet")
    assert row.status is Status.WARNING and row.details["closed_domain"] is True
