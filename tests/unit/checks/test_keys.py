"""Settings keys: one type parses ``"*"``, ``"column"`` and ``"column::name"`` for every reader."""

from __future__ import annotations

import pytest

from sidecar.checks import TABLE, SettingsKey, settings_key
from sidecar.errors import ConfigurationError


@pytest.mark.parametrize(("text", "named", "column", "name"), [
    ("*", False, None, None),
    ("*", True, None, None),
    ("spend", False, "spend", None),
    ("spend::not_negative", True, "spend", "not_negative"),
    ("a::b", False, "a::b", None),  # a column check's key is the column, whole
    ("a::b::ok", True, "a::b", "ok"),  # named keys split at the last "::": names hold none
])
def test_parse_and_format_round_trip(text: str, named: bool, column: str | None, name: str | None) -> None:
    key = SettingsKey.parse(text, named=named)
    assert (key.column, key.name) == (column, name)
    assert str(key) == text
    assert key.feature == (TABLE if column is None else column)


def test_settings_key_asks_the_registry_which_checks_are_named() -> None:
    assert settings_key("custom", "spend::ok") == SettingsKey("spend", "ok")
    assert settings_key("min_max", "spend::ok") == SettingsKey("spend::ok")
    assert settings_key("no_such_check", "x::y") == SettingsKey("x::y")


def test_sort_key_puts_the_table_first_then_reference_column_order() -> None:
    position = {"b": 0, "a": 1}
    keys = [SettingsKey("a", "z"), SettingsKey("a"), SettingsKey(None), SettingsKey("b"), SettingsKey("a", "c")]
    ordered = sorted(keys, key=lambda k: k.sort_key(position))
    assert [str(k) for k in ordered] == ["*", "b", "a", "a::c", "a::z"]


def test_a_name_holding_the_separator_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="may not contain '::'"):
        SettingsKey("spend", "my::check")
