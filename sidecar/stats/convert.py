"""Turning pandas columns and decoded stream columns into the arrays the profile counts.

Kind inference lives here so the reference profile, the current profile and the stream decoders agree
on what a "numeric" or "categorical" column is; and so does :func:`whole_dtype`, the dtype a column read in
chunks has as a whole, which the chunked reader (:mod:`sidecar.io.chunks`) and the chunked reference profile
(:mod:`sidecar.stats.tally`) share.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from typing_extensions import TypeIs

from sidecar.errors import ConfigurationError
from sidecar.stats.kinds import ColumnKind

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["infer_kind", "to_float_array", "whole_dtype"]


def is_series(value: Any) -> TypeIs[pd.Series]:
    """``isinstance(value, pandas.Series)`` without importing pandas (nothing is a Series before it is).

    pandas (with pyarrow) costs a process about 75 MB; the sidecar's main loop never needs it.
    """
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.Series)


def is_frame(value: Any) -> TypeIs[pd.DataFrame]:
    """``isinstance(value, pandas.DataFrame)`` without importing pandas."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)


def infer_kind(series: pd.Series) -> ColumnKind | None:
    """The :class:`ColumnKind` a pandas column is profiled as, or ``None`` when no kind fits."""
    import pandas as pd  # lazily: see is_series

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return ColumnKind.BOOLEAN
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ColumnKind.DATETIME
    if pd.api.types.is_timedelta64_dtype(dtype):
        return ColumnKind.NUMERIC
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return ColumnKind.NUMERIC
    if dtype == np.dtype(object):
        sample = series.dropna().head(1000)
        # True/False/None is what pandas reads from a boolean CSV column with blanks.
        if len(sample) and all(isinstance(v, bool | np.bool_) for v in sample):
            return ColumnKind.BOOLEAN
        if all(isinstance(v, str | int | float | bool | np.generic) for v in sample):
            return ColumnKind.CATEGORICAL
        return None
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
        return ColumnKind.CATEGORICAL
    return None


def to_float_array(series: pd.Series | np.ndarray, kind: ColumnKind) -> np.ndarray:
    """float64 values of a numeric or datetime column, NaN for missing (datetimes as epoch seconds)."""
    if isinstance(series, np.ndarray):
        return series.astype(np.float64, copy=False)
    import pandas as pd  # a Series: pandas is loaded already
    dtype = series.dtype
    if dtype == np.dtype(object) and bool(series.isna().all()):
        return np.full(len(series), np.nan)
    if kind is ColumnKind.DATETIME or pd.api.types.is_datetime64_any_dtype(dtype):
        if not pd.api.types.is_datetime64_any_dtype(dtype):
            raise ConfigurationError(f"column {series.name!r}: expected datetimes, got dtype {dtype}")
        values = series.dt.tz_convert("UTC") if getattr(dtype, "tz", None) else series
        ns = values.to_numpy(dtype="datetime64[ns]").view(np.int64).astype(np.float64)
        ns[values.isna().to_numpy()] = np.nan
        return ns / 1e9
    if pd.api.types.is_timedelta64_dtype(dtype):
        return series.dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return series.to_numpy(dtype=np.float64, copy=False)
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def whole_dtype(dtypes: Sequence[str], has_nulls: bool) -> str | None:
    """The dtype one read of the whole source gives a column whose non-empty chunks came back as ``dtypes``.

    ``None`` when the chunks disagree in a way only re-reading explains (numbers in one chunk, text in
    another: read whole, the numbers would be text). Integer columns with a blank anywhere are float64 and
    boolean ones object, as pandas reads them.

    >>> whole_dtype(["int64", "float64"], True), whole_dtype(["bool"], True), whole_dtype(["int64", "str"], False)
    ('float64', 'object', None)
    """
    kinds = set(dtypes)
    if not kinds:
        return None
    if len(kinds) == 1:
        dtype = dtypes[0]
        if has_nulls and _is_numpy(dtype) and np.dtype(dtype).kind in "iu":
            return "float64"
        if has_nulls and dtype == "bool":
            return "object"
        return dtype
    if all(_is_numpy(d) and np.dtype(d).kind in "iuf" for d in kinds):
        return "float64"
    if kinds <= {"bool", "object"}:
        return "object"
    return None


def _is_numpy(dtype: str) -> bool:
    """True when ``dtype`` names a numpy dtype (not a pandas extension dtype such as ``"Int64"`` or ``"category"``)."""
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True
