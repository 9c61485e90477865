"""Python values (parsed JSON) of one column to a typed numpy array, finding the rows that do not fit.

Each function first tries the vectorised path: the set of value types (one C-level pass) tells whether
the whole column is acceptable, and one ``np.array`` call converts it. Only when that check or the
conversion fails does a per-value scan run, to name the offending rows; the caller rejects their
messages. The scan returns the array too (bad entries nulled) so the good rows need no second pass.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable
from typing import Any

import numpy as np

from sidecar.decoders.base import ErrorClass
from sidecar.decoders.timeparse import (
    MAX_EPOCH_SECONDS,
    MIN_EPOCH_SECONDS,
    parse_datetime_text,
    parse_datetime_texts,
)
from sidecar.stats.kinds import ColumnKind

__all__ = ["NUMERIC_LIMIT", "Problem", "coerce_column", "coerce_request_ids", "describe", "none_mask"]

NUMERIC_LIMIT = 1e300
"""Largest magnitude accepted in a numeric column: beyond it sums and squares in the statistics core
overflow to infinity, and such values are almost always a unit or encoding bug upstream."""

Problem = tuple[int, ErrorClass, str]
"""``(row position in the column, error class, reason)``."""

_NONE = type(None)
_NUMBER_TYPES = frozenset({int, float, _NONE})
_CATEGORY_TYPES = frozenset({str, int, float, bool, _NONE})
_BOOLEAN_TYPES = frozenset({bool, _NONE})
_TEXT_TYPES = frozenset({str, _NONE})


_SHORT = reprlib.Repr()  # keyword arguments need Python 3.12
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist = 3, 4, 6
_SHORT.maxstring, _SHORT.maxlong, _SHORT.maxother = 50, 40, 50


def describe(value: Any) -> str:
    """``type repr`` of a received value, shortened so a reason stays one readable line.

    ``reprlib`` bounds the depth and length it looks at, so a hostile value (a list nested a thousand
    deep, a string of megabytes) costs nothing and cannot exhaust the recursion limit.

    >>> describe("41"), describe([[[[1]]]]), describe(10**100)
    ("str '41'", 'list [[[[...]]]]', 'int 100000000000000000...0000000000000000000')
    """
    return f"{type(value).__name__} {_SHORT.repr(value)}"


def coerce_column(
    name: str, kind: ColumnKind, values: list[Any], *, label: str | None = None, trusted: bool = False
) -> tuple[np.ndarray, list[Problem]]:
    """Convert the values of column ``name`` to its kind's array.

    Parameters
    ----------
    name
        Column name, for the reasons.
    kind
        The column's kind in the contract.
    values
        One Python value per row (``None`` for null or missing).
    label
        How reasons name the values; default ``column '<name>' (<kind>)``.
    trusted
        Every value is already known to be of a type the kind accepts (a typed parser checked it), so
        the per-value type scan is skipped; ranges are still checked.

    Returns
    -------
    tuple
        The array (``float64`` for numeric and datetime, ``object`` otherwise) and the problems found;
        entries at problem positions are null in the array.

    Examples
    --------
    >>> array, problems = coerce_column("age", ColumnKind.NUMERIC, [41, None, "42"])
    >>> array
    array([41., nan, nan])
    >>> problems
    [(2, <ErrorClass.TYPE_MISMATCH: 'TypeMismatch'>, "column 'age' (numeric) expects a number or null, got str '42'")]
    """
    converter = _CONVERTERS[kind]
    return converter(label or f"column {name!r} ({kind.value})", values, trusted)


def _numeric(label: str, values: list[Any], trusted: bool) -> tuple[np.ndarray, list[Problem]]:
    if trusted or set(map(type, values)) <= _NUMBER_TYPES:
        try:
            array = np.array(values, dtype=np.float64)
        except OverflowError:  # a Python int beyond float64: find it below
            pass
        else:
            # NaN only comes from None here, and compares False, so it passes.
            if not bool((np.abs(array) > NUMERIC_LIMIT).any()):
                return array, []
    return _scan(values, np.float64, lambda value: _check_number(label, value))


def _check_number(label: str, value: Any) -> tuple[Any, ErrorClass | None, str]:
    kind = type(value)
    if value is None:
        return None, None, ""
    if kind is int or kind is float:
        if (kind is float and not math.isfinite(value)) or abs(value) > NUMERIC_LIMIT:
            return (
                None,
                ErrorClass.VALUE_OUT_OF_RANGE,
                f"{label} accepts finite numbers up to {NUMERIC_LIMIT:g} in magnitude, got {describe(value)}",
            )
        return value, None, ""
    return None, ErrorClass.TYPE_MISMATCH, f"{label} expects a number or null, got {describe(value)}"


def _categorical(label: str, values: list[Any], trusted: bool) -> tuple[np.ndarray, list[Problem]]:
    if trusted or set(map(type, values)) <= _CATEGORY_TYPES:
        return _object_array(values), []
    return _scan(values, object, lambda value: _check_category(label, value))


def _check_category(label: str, value: Any) -> tuple[Any, ErrorClass | None, str]:
    if type(value) in _CATEGORY_TYPES:
        return value, None, ""
    return None, ErrorClass.TYPE_MISMATCH, f"{label} expects a string, number, boolean or null, got {describe(value)}"


def _boolean(label: str, values: list[Any], trusted: bool) -> tuple[np.ndarray, list[Problem]]:
    if trusted or set(map(type, values)) <= _BOOLEAN_TYPES:
        return _object_array(values), []
    return _scan(values, object, lambda value: _check_boolean(label, value))


def _check_boolean(label: str, value: Any) -> tuple[Any, ErrorClass | None, str]:
    if value is None or type(value) is bool:
        return value, None, ""
    return None, ErrorClass.TYPE_MISMATCH, f"{label} expects true, false or null, got {describe(value)}"


def _datetime(label: str, values: list[Any], trusted: bool) -> tuple[np.ndarray, list[Problem]]:
    # Trusted or not, numbers and strings take different paths, so the types are looked at anyway.
    types = set(map(type, values))
    if types <= _NUMBER_TYPES:
        try:
            array = np.array(values, dtype=np.float64)
        except OverflowError:
            pass
        else:
            # Written so NaN (from None) passes: both comparisons are False for NaN.
            if not bool(((array < MIN_EPOCH_SECONDS) | (array > MAX_EPOCH_SECONDS)).any()):
                return array, []
    elif types <= _TEXT_TYPES:
        parsed = parse_datetime_texts(values)
        if parsed is not None:
            return parsed, []
    return _scan(values, np.float64, lambda value: _check_datetime(label, value))


def _check_datetime(label: str, value: Any) -> tuple[Any, ErrorClass | None, str]:
    kind = type(value)
    if value is None:
        return None, None, ""
    if kind is str:
        try:
            return parse_datetime_text(value), None, ""
        except (ValueError, OverflowError):
            return (
                None,
                ErrorClass.INVALID_DATETIME,
                f"{label} expects an RFC 3339 time or epoch seconds, got {describe(value)}",
            )
    if kind is int or kind is float:
        if not (math.isfinite(value) and MIN_EPOCH_SECONDS <= value <= MAX_EPOCH_SECONDS):
            hint = " (epoch milliseconds? divide by 1000)" if math.isfinite(value) and value > 0 else ""
            return (
                None,
                ErrorClass.VALUE_OUT_OF_RANGE,
                f"{label} accepts epoch seconds within the years 1 to 9999, got {describe(value)}{hint}",
            )
        return value, None, ""
    return (
        None,
        ErrorClass.TYPE_MISMATCH,
        f"{label} expects an RFC 3339 string or epoch seconds, got {describe(value)}",
    )


def coerce_request_ids(name: str, values: list[Any]) -> tuple[np.ndarray, list[Problem]]:
    """Request ids to an ``object`` array of ``str`` or ``None``; integers become their decimal text.

    Anything else (a boolean, float, object or list) is a type mismatch naming field ``name``.
    """
    if set(map(type, values)) <= _TEXT_TYPES:
        return _object_array(values), []
    label = f"field {name!r} (request id)"
    return _scan(values, object, lambda value: _check_request_id(label, value))


def _check_request_id(label: str, value: Any) -> tuple[Any, ErrorClass | None, str]:
    if value is None or type(value) is str:
        return value, None, ""
    if type(value) is int:
        return str(value), None, ""
    return None, ErrorClass.TYPE_MISMATCH, f"{label} expects a string or integer, got {describe(value)}"


_NONE_ARRAY = np.array(None, dtype=object)


def none_mask(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the ``None`` entries of an ``object`` array (one C loop, no Python per value)."""
    return np.asarray(np.equal(values, _NONE_ARRAY), dtype=bool)


def _object_array(values: list[Any]) -> np.ndarray:
    # np.array(list, dtype=object) is safe only because callers checked that every value is a scalar:
    # lists inside would make numpy build a 2-D array.
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _scan(
    values: list[Any],
    dtype: type,
    check: Callable[[Any], tuple[Any, ErrorClass | None, str]],
) -> tuple[np.ndarray, list[Problem]]:
    cleaned: list[Any] = []
    problems: list[Problem] = []
    for position, value in enumerate(values):
        kept, error_class, reason = check(value)
        if error_class is not None:
            problems.append((position, error_class, reason))
        cleaned.append(kept)
    if dtype is object:
        return _object_array(cleaned), problems
    return np.array(cleaned, dtype=np.float64), problems


_CONVERTERS: dict[ColumnKind, Callable[[str, list[Any], bool], tuple[np.ndarray, list[Problem]]]] = {
    ColumnKind.NUMERIC: _numeric,
    ColumnKind.CATEGORICAL: _categorical,
    ColumnKind.BOOLEAN: _boolean,
    ColumnKind.DATETIME: _datetime,
}
