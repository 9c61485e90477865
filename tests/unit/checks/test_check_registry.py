"""The check registry is the one source of check names, their order and their contract handles."""

from __future__ import annotations

from typing import get_type_hints

import pandas as pd
import pytest

import sidecar.contract.datacontract as datacontract_module
from sidecar import DataContract
from sidecar.checks import CHECKS, Check, CheckSettings, check_names, display_order, get_check, register_check
from sidecar.errors import ConfigurationError, UnknownNameError

#: DESIGN.md section 3: the check names, in the order reports show them.
DESIGN_ORDER = ("schema", "row_count", "special_values", "min_max", "uniqueness", "domain", "distribution", "custom")


def test_names_and_order_come_from_the_registry() -> None:
    assert check_names() == DESIGN_ORDER
    assert set(check_names()) == set(CHECKS)
    # A row no registered check made (SLA rows) sorts after every registered check.
    assert sorted(["sla", "custom", "schema"], key=display_order) == ["schema", "custom", "sla"]


def test_every_registered_check_has_its_handle_on_the_contract() -> None:
    contract = DataContract("handles", pd.DataFrame({"x": range(200)}))
    declared = {name for name, hint in get_type_hints(DataContract, vars(datacontract_module)).items()
                if name.endswith("_test")}
    assert declared == {c.accessor for c in CHECKS.values()}
    for check in CHECKS.values():
        handle = getattr(contract, check.accessor)
        assert handle._name == check.name


def _check_class(name: str, accessor: str) -> type[Check]:
    class Probe(Check):
        settings_model = CheckSettings

        def configure(self, reference, columns, **kwargs):  # type: ignore[no-untyped-def]
            return {}

        def evaluate(self, column, settings, reference, current):  # type: ignore[no-untyped-def]
            return []

    Probe.name = name  # type: ignore[misc]
    Probe.accessor = accessor  # type: ignore[misc]
    return Probe


def test_registering_a_name_or_an_accessor_twice_raises() -> None:
    with pytest.raises(ConfigurationError, match="'schema' is already registered"):
        register_check(_check_class("schema", "another_test"))
    with pytest.raises(ConfigurationError, match="accessor 'schema_test' is check 'schema'"):
        register_check(_check_class("another", "schema_test"))
    assert "another" not in CHECKS


def test_a_check_without_an_accessor_is_refused() -> None:
    cls = _check_class("nameless_handle", "x")
    del cls.accessor
    with pytest.raises(ConfigurationError, match="sets no 'accessor'"):
        register_check(cls)


def test_unknown_check_lists_the_registered_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_check("drift")
    assert str(info.value) == f"unknown check 'drift'; registered: {', '.join(check_names())}"
