"""A stream window is judged with its own size: the same rows folded batch by batch into a window profile
get exactly the verdicts, values, noise bounds and p-values of ``contract.validate`` on a frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sidecar import DataContract, Status
from sidecar.stats.coded import CodedValues


def _window(contract: DataContract, df: pd.DataFrame, batch: int) -> list:
    profile = contract.new_profile()
    for start in range(0, len(df), batch):
        part = df.iloc[start:start + batch]
        columns = {}
        for name in df.columns:
            s = part[name]
            if not pd.api.types.is_numeric_dtype(s.dtype):
                codes, uniques = pd.factorize(s, use_na_sentinel=True)
                columns[name] = CodedValues(codes, np.asarray(uniques, dtype=object))  # as the Arrow decoder does
            else:
                columns[name] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        profile.update(columns, len(part))
    return contract.check(profile).results


def _key(rows: list) -> dict:
    keep = ("noise_bound", "noise_bound_warning", "p_value", "noise_method", "current")
    return {(r.check, r.column, str(r.details.get("special_value"))): (r.status, r.value,
            {k: r.details.get(k) for k in keep}) for r in rows if r.check not in ("schema", "row_count")}


@pytest.mark.parametrize("rows", [500, 5000])
def test_window_verdicts_equal_batch_verdicts(rows: int) -> None:
    rng = np.random.default_rng(rows)
    def frame(n: int, shift: float) -> pd.DataFrame:
        x = rng.normal(shift, 1.0, n)
        x[rng.random(n) < 0.05] = np.nan
        return pd.DataFrame({"x": x, "y": rng.gamma(2.0, 3.0 + shift, n),
                             "plan": rng.choice(np.array(["a", "b", "c"], dtype=object), n, p=[0.5, 0.3, 0.2])})

    contract = DataContract("w", frame(20_000, 0.0))
    current = frame(rows, 0.3)
    batch, stream = _key(contract.validate(current).results), _key(_window(contract, current, batch=97))
    assert stream == batch
    assert any(status is not Status.HEALTHY for status, _, _ in batch.values())  # the shift is judged, not just 0s
