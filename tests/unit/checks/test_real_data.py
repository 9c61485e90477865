"""Real data: 16 public data sets that ship inside packages (scikit-learn, statsmodels), never downloaded.

Same population: random half splits of one data set (contract learned from one half, the other half
validated, each check at its own levels: ``family_wise=False``, so the null models are what is measured)
may be judged critical on at most 0.1% and warning on at most 1% of the rows judged on data
(one row per split, feature and check whose verdict weighs sampling noise; schema and row-count rows have
no sampling noise, so any finding of theirs on a same-population split is a failure of its own).
Broken splits (a column dropped, renamed, 30% set to null, multiplied by 1000, or the data sorted by it
before splitting) must make that column critical.

``pytest -s`` prints the tables of what ran; on a failure the table and the offending rows (value,
thresholds, noise bounds, p-value, sizes, bin counts) are in the assertion message.
"""

from __future__ import annotations

import math
import time
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets as skd
from statsmodels.datasets import (
    anes96,
    co2,
    engel,
    fair,
    fertility,
    grunfeld,
    macrodata,
    modechoice,
    randhie,
    star98,
    sunspots,
)

from sidecar import CheckResult, DataContract, Status, ValidationReport

#: The issue's budget for same-population comparisons, per (split, feature, check) row judged on data.
CRITICAL_BUDGET = 0.001
WARNING_BUDGET = 0.01


def allowed(budget: float, rows: int) -> int:
    """Findings a count of ``rows`` may hold at ``budget``: the budget rounded up, plus one."""
    return math.ceil(budget * rows) + 1


# -- the data sets --------------------------------------------------------------------------------------
def _as_text(frame: pd.DataFrame, column: str, labels: dict[float, str] | None = None,
             prefix: str = "") -> pd.DataFrame:
    """``column``'s integer codes as text values (a categorical column)."""
    codes = frame[column]
    text = codes.map(labels) if labels is not None else codes.map(lambda v: f"{prefix}{int(v)}")
    return frame.assign(**{column: text.astype(object)})


def _sklearn(loader: Callable[..., object], target: str, **kwargs: object) -> pd.DataFrame:
    """A bundled scikit-learn data set as one frame; a classification target becomes its class names."""
    bunch = loader(as_frame=True, **kwargs)
    frame: pd.DataFrame = bunch.frame.rename(columns={"target": target})  # type: ignore[attr-defined]
    names = getattr(bunch, "target_names", None)
    if names is not None:
        frame[target] = np.asarray(names, dtype=object)[frame[target].to_numpy()]
    return frame


def _iris() -> pd.DataFrame:
    return _sklearn(skd.load_iris, "species")


def _wine() -> pd.DataFrame:
    return _sklearn(skd.load_wine, "cultivar")


def _breast_cancer() -> pd.DataFrame:
    return _sklearn(skd.load_breast_cancer, "diagnosis")


def _diabetes() -> pd.DataFrame:
    return _as_text(_sklearn(skd.load_diabetes, "progression", scaled=False), "sex", prefix="sex_")


def _digits() -> pd.DataFrame:
    return _as_text(_sklearn(skd.load_digits, "digit"), "digit", prefix="digit_")


def _fair() -> pd.DataFrame:
    religion = {1.0: "not", 2.0: "mildly", 3.0: "fairly", 4.0: "strongly"}
    return _as_text(_as_text(fair.load_pandas().data, "religious", religion), "occupation", prefix="occ_")


def _anes96() -> pd.DataFrame:
    party = {0.0: "strong_dem", 1.0: "weak_dem", 2.0: "ind_dem", 3.0: "ind", 4.0: "ind_rep", 5.0: "weak_rep",
             6.0: "strong_rep"}
    return _as_text(_as_text(anes96.load_pandas().data, "PID", party), "educ", prefix="educ_")


def _randhie() -> pd.DataFrame:
    return randhie.load_pandas().data


def _star98() -> pd.DataFrame:
    return star98.load_pandas().data


def _macrodata() -> pd.DataFrame:
    return macrodata.load_pandas().data


def _grunfeld() -> pd.DataFrame:
    return grunfeld.load_pandas().data.astype({"firm": object})


def _modechoice() -> pd.DataFrame:
    return _as_text(modechoice.load_pandas().data, "mode", {1.0: "air", 2.0: "train", 3.0: "bus", 4.0: "car"})


def _engel() -> pd.DataFrame:
    return engel.load_pandas().data


def _sunspots() -> pd.DataFrame:
    return sunspots.load_pandas().data


def _fertility() -> pd.DataFrame:
    # 219 countries x 54 years of fertility rates, with gaps: a wide table with nulls and identifier columns.
    return fertility.load_pandas().data.astype({c: object for c in ("Country Name", "Country Code",
                                                                    "Indicator Name", "Indicator Code")})


def _co2() -> pd.DataFrame:
    return co2.load_pandas().data.reset_index(drop=True)


@dataclass(frozen=True)
class DataSet:
    """A bundled data set, the random half splits to run on it, and the columns broken splits break."""

    name: str
    load: Callable[[], pd.DataFrame]
    splits: int
    numeric: str
    category: str | None = None


#: Splits per data set: as many as keep this file near 30 s (validation time grows with the columns whose
#: distance is above the warning threshold, which on small halves is every column).
DATASETS = {
    ds.name: ds
    for ds in [
        DataSet("iris", _iris, 60, "petal length (cm)", "species"),
        DataSet("wine", _wine, 30, "alcohol", "cultivar"),
        DataSet("breast_cancer", _breast_cancer, 10, "mean radius", "diagnosis"),
        DataSet("diabetes", _diabetes, 25, "bmi", "sex"),
        DataSet("digits", _digits, 12, "pixel_2_3", "digit"),
        DataSet("fair", _fair, 50, "age", "occupation"),
        DataSet("anes96", _anes96, 30, "age", "PID"),
        DataSet("randhie", _randhie, 50, "lpi"),
        DataSet("star98", _star98, 15, "LOWINC"),
        DataSet("macrodata", _macrodata, 20, "realgdp"),
        DataSet("grunfeld", _grunfeld, 20, "invest", "firm"),
        DataSet("modechoice", _modechoice, 20, "ttme", "mode"),
        DataSet("engel", _engel, 30, "income"),
        DataSet("sunspots", _sunspots, 30, "SUNACTIVITY"),
        DataSet("fertility", _fertility, 8, "1990"),
        DataSet("co2", _co2, 20, "co2"),
    ]
}


def _contract(reference: pd.DataFrame, *, family_wise: bool = False) -> DataContract:
    with warnings.catch_warnings():
        # Halves of the 150-row iris set are under SMALL_REFERENCE_ROWS; the contract says so, by design.
        warnings.filterwarnings("ignore", message=r".*the reference has only", category=UserWarning)
        return DataContract("real_data", reference, family_wise=family_wise)


def _half_split(frame: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = rng.permutation(len(frame))
    half = len(frame) // 2
    return frame.iloc[order[:half]], frame.iloc[order[half:]]


def _seed(*names: str) -> list[int]:
    return [zlib.crc32(name.encode()) for name in names]


def _describe(r: CheckResult, m: int, n: int) -> str:
    """One result row with everything needed to see why it fired."""
    d = r.details
    keep = {k: d[k] for k in ("noise_bound_warning", "noise_bound", "p_value", "method", "reference_rate",
                              "current_rate", "below", "above", "lower_bound", "upper_bound", "unseen_rows",
                              "reason", "renamed_to") if k in d}
    if "reference" in d and "current" in d:
        keep["reference_counts"] = [round(s * d["reference_rows"]) for s in d["reference"]]
        keep["current_counts"] = [round(s * d["current_rows"]) for s in d["current"]]
    value = "None" if r.value is None else f"{r.value:.4g}"
    return (f"{r.status.value} {r.check}[{r.column}] value={value} warning={r.warning} critical={r.critical} "
            f"m={m} n={n} {keep}")


# -- same population ------------------------------------------------------------------------------------
@dataclass
class Tally:
    """Verdicts of the same-population splits of one data set (or of all, pooled)."""

    name: str
    rows_in_data: int = 0
    columns: int = 0
    categorical: int = 0
    splits: int = 0
    #: (check, status) -> rows judged on data; ("*", status) sums the checks.
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (split, feature) pairs judged, and those with a critical / a warning among their rows.
    features: Counter[str] = field(default_factory=Counter)
    findings: list[tuple[Status, str]] = field(default_factory=list)
    #: Findings of rows without sampling noise (schema, row_count): none may occur on the same population.
    unexplained: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def rows(self, check: str = "*") -> int:
        return sum(v for (c, _), v in self.counts.items() if c == check)

    def count(self, status: Status, check: str = "*") -> int:
        return self.counts[(check, status.value)]

    def add(self, split: int, m: int, n: int, report: ValidationReport) -> None:
        self.splits += 1
        worst: dict[str, Status] = {}
        for r in report.results:
            judged = "p_value" in r.details  # False: no sampling noise behind it (schema, row count, skipped)
            if judged:
                self.counts[(r.check, r.status.value)] += 1
                self.counts[("*", r.status.value)] += 1
                worst[str(r.column)] = max(worst.get(str(r.column), Status.HEALTHY), r.status)
            if r.status is Status.HEALTHY:
                continue
            where = f"{self.name} split {split}: {_describe(r, m, n)}"
            if judged:
                self.findings.append((r.status, where))
            else:
                self.unexplained.append(where)
        self.features["pairs"] += len(worst)
        self.features.update(s.value for s in worst.values())

    def merge(self, other: Tally) -> None:
        for name in ("rows_in_data", "columns", "categorical", "splits", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.counts.update(other.counts)
        self.features.update(other.features)
        self.findings += other.findings
        self.unexplained += other.unexplained

    def listing(self, status: Status) -> list[str]:
        return [text for s, text in self.findings if s is status]


def _same_population(ds: DataSet) -> Tally:
    frame = ds.load()
    text = sum(not pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns)
    tally = Tally(ds.name, len(frame), frame.shape[1], text)
    rng = np.random.default_rng(_seed(ds.name))
    start = time.perf_counter()
    for split in range(ds.splits):
        reference, current = _half_split(frame, rng)
        tally.add(split, len(reference), len(current), _contract(reference).validate(current))
    tally.seconds = time.perf_counter() - start
    return tally


def _pct(k: int, total: int) -> str:
    return f"{100.0 * k / total:.3f}%" if total else "-"


def _table(tallies: list[Tally], pooled: Tally) -> str:
    head = (f"{'data set':<14} {'rows':>6} {'cols':>4} {'cat':>3} {'splits':>6} {'rows judged':>11} {'critical':>8} "
            f"{'warning':>7} {'crit rate':>9} {'warn rate':>9} {'seconds':>7}")
    rule = "-" * len(head)
    lines = ["", "Same population: random half splits (contract from one half, the other half validated)",
             head, rule]
    for t in [*tallies, pooled]:
        if t is pooled:
            lines.append(rule)
        crit, warn = t.count(Status.CRITICAL), t.count(Status.WARNING)
        lines.append(f"{t.name:<14} {t.rows_in_data:>6} {t.columns:>4} {t.categorical:>3} {t.splits:>6} "
                     f"{t.rows():>11} {crit:>8} {warn:>7} {_pct(crit, t.rows()):>9} {_pct(warn, t.rows()):>9} "
                     f"{t.seconds:>7.1f}")
    lines += ["", f"{'check':<14} {'rows judged':>11} {'critical':>8} {'warning':>7} {'crit rate':>9} {'warn rate':>9}"]
    for check in sorted({c for c, _ in pooled.counts if c != "*"}):
        rows, crit, warn = pooled.rows(check), pooled.count(Status.CRITICAL, check), pooled.count(Status.WARNING, check)
        lines.append(f"{check:<14} {rows:>11} {crit:>8} {warn:>7} {_pct(crit, rows):>9} {_pct(warn, rows):>9}")
    f = pooled.features
    lines += [f"(split, feature) pairs: {f['pairs']}, with a critical row {f['critical']} "
              f"({_pct(f['critical'], f['pairs'])}), worst a warning {f['warning']} ({_pct(f['warning'], f['pairs'])})",
              f"budget: critical <= {100 * CRITICAL_BUDGET:g}%, warning <= {100 * WARNING_BUDGET:g}% of the rows "
              "judged on data (schema and row_count rows are not judged on data and may not fire at all)"]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def same_population() -> tuple[list[Tally], Tally, str]:
    tallies = [_same_population(ds) for ds in DATASETS.values()]
    pooled = Tally("pooled")
    for t in tallies:
        pooled.merge(t)
    table = _table(tallies, pooled)
    print(table)
    print("\nCritical rows:\n" + "\n".join(pooled.listing(Status.CRITICAL) or ["(none)"]))
    return tallies, pooled, table


def _why(pooled: Tally, table: str) -> str:
    return "\n".join([table, "Critical rows:", *pooled.listing(Status.CRITICAL),
                      "Warning rows:", *pooled.listing(Status.WARNING)])


def test_same_population_splits_give_no_schema_or_row_count_finding(same_population) -> None:
    _, pooled, _ = same_population
    assert not pooled.unexplained, "\n".join(pooled.unexplained)


def test_same_population_splits_stay_within_the_pooled_budget(same_population) -> None:
    _, pooled, table = same_population
    assert pooled.rows() > 5_000, table  # enough rows that the budget means something
    assert pooled.count(Status.CRITICAL) <= CRITICAL_BUDGET * pooled.rows(), _why(pooled, table)
    assert pooled.count(Status.WARNING) <= WARNING_BUDGET * pooled.rows(), _why(pooled, table)


def test_no_data_set_has_more_than_its_share_of_criticals(same_population) -> None:
    tallies, pooled, table = same_population
    over = [f"{t.name}: {t.count(Status.CRITICAL)} critical of {t.rows()} rows, at most "
            f"{allowed(CRITICAL_BUDGET, t.rows())}" for t in tallies
            if t.count(Status.CRITICAL) > allowed(CRITICAL_BUDGET, t.rows())]
    assert not over, "\n".join(over) + "\n" + _why(pooled, table)


def test_no_check_exceeds_the_budget(same_population) -> None:
    """The false-alarm levels hold per feature *and check*: pooling must not hide one check's excess behind
    checks that can hardly fire here (a null rate on columns with no nulls)."""
    _, pooled, table = same_population
    over = []
    for check in sorted({c for c, _ in pooled.counts if c != "*"}):
        rows = pooled.rows(check)
        for status, budget in ((Status.CRITICAL, CRITICAL_BUDGET), (Status.WARNING, WARNING_BUDGET)):
            if pooled.count(status, check) > allowed(budget, rows):
                over.append(f"{check}: {pooled.count(status, check)} {status.value} of {rows} rows, at most "
                            f"{allowed(budget, rows)}")
    assert not over, "\n".join(over) + "\n" + _why(pooled, table)


# -- broken splits --------------------------------------------------------------------------------------
def _null_30(frame: pd.DataFrame, column: str, rng: np.random.Generator) -> pd.DataFrame:
    out = frame.copy()
    hit = rng.choice(len(out), size=round(0.3 * len(out)), replace=False)
    numeric = pd.api.types.is_numeric_dtype(out[column])
    values = out[column].astype(np.float64 if numeric else object)
    values.iloc[hit] = np.nan if numeric else None
    out[column] = values
    return out


BREAKS: dict[str, Callable[[pd.DataFrame, str, np.random.Generator], pd.DataFrame]] = {
    "dropped": lambda f, c, rng: f.drop(columns=[c]),
    "renamed": lambda f, c, rng: f.rename(columns={c: c + "_v2"}),
    "30% null": _null_30,
    "x1000": lambda f, c, rng: f.assign(**{c: f[c] * 1000}),
}

#: break -> (data set, which column) cases: every break on small and large, numeric and text columns. The
#: "sorted" break is the split itself (see _broken).
CASES = {
    "dropped": [("iris", "numeric"), ("breast_cancer", "numeric"), ("randhie", "numeric"), ("digits", "numeric"),
                ("wine", "category"), ("anes96", "category")],
    "renamed": [("iris", "numeric"), ("wine", "numeric"), ("diabetes", "numeric"), ("randhie", "numeric"),
                ("iris", "category"), ("fair", "category")],
    "30% null": [("wine", "numeric"), ("star98", "numeric"), ("fair", "numeric"), ("randhie", "numeric"),
                 ("diabetes", "category"), ("anes96", "category")],
    "x1000": [("iris", "numeric"), ("diabetes", "numeric"), ("anes96", "numeric"), ("randhie", "numeric"),
              ("digits", "numeric")],
    "sorted": [("wine", "numeric"), ("breast_cancer", "numeric"), ("fair", "numeric"), ("randhie", "numeric"),
               ("star98", "numeric"), ("iris", "category"), ("fair", "category")],
}


def _broken(ds: DataSet, kind: str, column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and broken current half. The sorted split: the data sorted by ``column``, reference = the
    first half, current = the second."""
    frame = ds.load()
    if kind == "sorted":
        ordered = frame.sort_values(column, kind="stable", ignore_index=True)
        half = len(ordered) // 2
        return ordered.iloc[:half], ordered.iloc[half:]
    rng = np.random.default_rng(_seed(ds.name, kind, column))
    reference, current = _half_split(frame, rng)
    return reference, BREAKS[kind](current, column, rng)


@pytest.fixture(scope="module")
def broken_table() -> Iterator[list[str]]:
    """Lines of the broken-split table; printed once every broken-split test has added its line."""
    lines: list[str] = []
    yield lines
    head = f"{'data set':<14} {'break':<9} {'column':<18} {'m':>5} {'n':>5} {'verdict':<9} caught by (critical rows)"
    print("\n\nBroken splits (each must make the broken column critical)\n" + head + "\n" + "-" * (len(head) + 30))
    print("\n".join(lines))


@pytest.mark.parametrize(
    ("name", "kind", "which"),
    [pytest.param(name, kind, which, id=f"{kind}-{name}-{which}") for kind, cases in CASES.items()
     for name, which in cases],
)
def test_broken_split_makes_the_column_critical(name: str, kind: str, which: str, broken_table: list[str]) -> None:
    ds = DATASETS[name]
    column = ds.numeric if which == "numeric" else ds.category
    assert column is not None
    reference, current = _broken(ds, kind, column)
    report = _contract(reference, family_wise=True).validate(current)
    mine = [r for r in report.results if r.column == column]
    caught = [r for r in mine if r.status is Status.CRITICAL]
    why = ", ".join(r.check + (f" {r.value:.3g} > {max(r.critical or 0.0, r.details.get('noise_bound') or 0.0):.3g}"
                               if r.value is not None else f" ({r.details.get('reason', '')})") for r in caught)
    verdict = max((r.status for r in mine), default=Status.HEALTHY)
    broken_table.append(f"{ds.name:<14} {kind:<9} {column[:18]:<18} {len(reference):>5} {len(current):>5} "
                        f"{verdict.value:<9} {why or '-'}")
    detail = "\n".join(_describe(r, len(reference), len(current)) for r in mine)
    assert caught, f"{ds.name}: {kind} {column!r} is not critical:\n{detail}"
    if kind in ("dropped", "renamed"):
        # One critical schema finding; the column's other checks say "skipped", healthy, not critical again.
        (schema,) = [r for r in mine if r.check == "schema"]
        others = [r for r in mine if r.check != "schema"]
        assert schema.status is Status.CRITICAL, detail
        assert others, detail
        assert all(r.status is Status.HEALTHY and r.details.get("skipped") is True for r in others), detail
        if kind == "renamed":
            assert schema.details.get("renamed_to") == column + "_v2", detail
    elif kind == "30% null":
        (nulls,) = [r for r in mine if r.check == "special_values" and r.details.get("special_value") == "missing"]
        assert nulls.status is Status.CRITICAL, detail
