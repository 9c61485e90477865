"""A misspelt ``configure`` keyword is a ConfigurationError naming it, for every registered check."""

from __future__ import annotations

import pandas as pd
import pytest

from sidecar import DataContract
from sidecar.checks.base import CHECKS, COMMON_OPTIONS
from sidecar.errors import ConfigurationError

_ACCESSOR = {"schema": "schema_test", "row_count": "row_count_test", "special_values": "special_value_test",
             "min_max": "min_max_test", "uniqueness": "uniqueness_test", "domain": "domain_test",
             "distribution": "distribution_test", "custom": "custom_test"}


@pytest.fixture(scope="module")
def contract() -> DataContract:
    return DataContract("kw", pd.DataFrame({"age": [i % 50 for i in range(200)], "plan": ["a", "b"] * 100}))


def test_every_registered_check_has_an_accessor() -> None:
    assert set(CHECKS) == set(_ACCESSOR)


@pytest.mark.parametrize("check", sorted(_ACCESSOR))
def test_unknown_keyword_is_named_with_a_suggestion(contract: DataContract, check: str) -> None:
    accessor = getattr(contract, _ACCESSOR[check])
    args: tuple[object, ...] = ("rule", "custom_fns:spend_ok") if check == "custom" else ()
    with pytest.raises(ConfigurationError, match=rf"^{check}: unknown keyword 'treshold'; did you mean 'threshold'\?"):
        accessor.configure(*args, treshold=0.1)


def test_the_issue_typo_expeted(contract: DataContract) -> None:
    with pytest.raises(ConfigurationError) as info:
        contract.row_count_test.configure(expeted=500)
    assert "'expeted'" in str(info.value) and "did you mean 'expected'" in str(info.value)
    assert isinstance(info.value, ValueError)  # what a caller catching ValueError expects


@pytest.mark.parametrize(("check", "kwargs"), [
    ("row_count", {"expected": 500, "warning": 0.1, "critical": 0.2}),
    ("schema", {"added": "critical", "reordered": "healthy", "dtype_changed": "critical"}),
    ("special_values", {"thresholds": {None: 0.2}}),
    ("min_max", {"lower_bound": 0, "upper_bound": 500, "false_alarm_warning": 0.02}),
    ("uniqueness", {"exact_rows": 1000}),
    ("domain", {"allowed": ["a", "b"]}),
    ("distribution", {"method": "psi", "threshold": 0.3, "false_alarm_critical": 1e-4}),
])
def test_declared_options_are_accepted(check: str, kwargs: dict[str, object]) -> None:
    c = DataContract("kw", pd.DataFrame({"age": [i % 50 for i in range(200)], "plan": ["a", "b"] * 100}))
    accessor = getattr(c, _ACCESSOR[check])
    columns = {"domain": ["plan"], "special_values": ["age"]}.get(check, ["age"])
    if CHECKS[check].table_level:
        accessor.configure(**kwargs)
    else:
        accessor.configure(columns, **kwargs)
    assert set(kwargs) <= set(CHECKS[check].options) | set(COMMON_OPTIONS)
    assert c.settings[check]
