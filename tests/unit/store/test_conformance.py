"""Every store backend behaves as the Protocols of ``sidecar.store.base`` say, checked by one suite.

A backend joins by adding a factory to ``REPORT_BACKENDS`` / ``METRIC_BACKENDS``: the directory store's two
backends, and the control room's SQL store behind its blocking adapter (``BlockingSqlStore``) on a SQLite
file and, as ``sql-postgresql`` (marked ``integration``), on a database of the session's PostgreSQL. mypy
checks the same conformance statically (typed assignments in ``sidecar/store/directory.py`` and
``sidecar/store/sql/blocking.py``). The control room's own async Protocol has its suite in
``test_sql_store.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from sidecar import DataContract
from sidecar.report.model import ValidationReport
from sidecar.store import JsonlReportStore, MetricStore, ReportStore, SqliteMetricStore, StoreDirectory
from sidecar.store.sql import BlockingSqlStore

REPORT_BACKENDS: dict[str, Callable[[Path], ReportStore]] = {
    "jsonl": JsonlReportStore,
    "directory": lambda root: StoreDirectory(root).reports,
    "sql-sqlite": lambda root: BlockingSqlStore(f"sqlite:///{root}/control.sqlite"),
}
METRIC_BACKENDS: dict[str, Callable[[Path], MetricStore]] = {
    "sqlite": lambda root: SqliteMetricStore(root / "series.sqlite"),
    "directory": lambda root: StoreDirectory(root).production_metrics(),
    "sql-sqlite": lambda root: BlockingSqlStore(f"sqlite:///{root}/control.sqlite"),
}
#: On the session's PostgreSQL (a database per test), so not a factory of a directory.
ON_POSTGRES = pytest.param("sql-postgresql", marks=pytest.mark.integration)

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _report(contract: str, rows: int) -> ValidationReport:
    reference = pd.DataFrame({"x": range(200)})
    return DataContract(contract, reference).validate(pd.DataFrame({"x": range(rows)}))


@pytest.fixture(params=[*sorted(REPORT_BACKENDS), ON_POSTGRES])
def reports(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReportStore]:
    if request.param == "sql-postgresql":
        store: ReportStore = BlockingSqlStore(request.getfixturevalue("postgres_url"))
    else:
        store = REPORT_BACKENDS[request.param](tmp_path)
    if isinstance(store, BlockingSqlStore):
        with closing(store):
            yield store
    else:
        yield store


@pytest.fixture(params=[*sorted(METRIC_BACKENDS), ON_POSTGRES])
def metrics(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetricStore]:
    if request.param == "sql-postgresql":
        with BlockingSqlStore(request.getfixturevalue("postgres_url")) as sql:
            yield sql
        return
    with METRIC_BACKENDS[request.param](tmp_path) as store:
        yield store


def test_the_directory_backends_are_the_protocols() -> None:
    assert issubclass(JsonlReportStore, ReportStore)
    assert issubclass(SqliteMetricStore, MetricStore)
    assert issubclass(BlockingSqlStore, ReportStore) and issubclass(BlockingSqlStore, MetricStore)


def test_reports_come_back_equal_oldest_first_per_model_and_contract(reports: ReportStore) -> None:
    assert isinstance(reports, ReportStore)
    sent = [_report("inputs", n) for n in (100, 120, 140)]
    for report in sent:
        reports.append("churn", report)
    reports.append("churn", _report("outputs", 90))
    reports.append("other", _report("inputs", 80))
    assert [r.to_json() for r in reports.read("churn", "inputs")] == [r.to_json() for r in sent]
    assert [r.row_count["actual"] for r in reports.read("churn", "inputs", limit=2)] == [120, 140]
    assert [r.row_count["actual"] for r in reports.read("other", "inputs")] == [80]
    assert reports.read("churn", "nothing") == []
    assert reports.read("nobody", "inputs") == []


def test_metric_points_upsert_by_time_and_read_back_in_order(metrics: MetricStore) -> None:
    assert isinstance(metrics, MetricStore)
    day = timedelta(days=1)
    metrics.write("churn", "accuracy", [(T0 + 2 * day, 0.8), (T0, 0.9), (T0 + day, 0.85)])
    metrics.write("churn", "accuracy", [(T0 + day, 0.86)])  # the same time again: replaced
    metrics.write("churn", "roc_auc", [(T0, 0.7)])
    metrics.write("other", "accuracy", [(T0 + 9 * day, 0.1)])
    assert metrics.series("churn", "accuracy") == [(T0, 0.9), (T0 + day, 0.86), (T0 + 2 * day, 0.8)]
    assert metrics.latest("churn") == {"accuracy": (T0 + 2 * day, 0.8), "roc_auc": (T0, 0.7)}
    assert metrics.series("churn", "missing") == [] and metrics.latest("nobody") == {}


def test_metric_points_outlive_the_connection(tmp_path: Path) -> None:
    for name, make in METRIC_BACKENDS.items():
        with make(tmp_path / name) as store:
            store.write("churn", "accuracy", [(T0, 0.9)])
        with make(tmp_path / name) as store:
            assert store.series("churn", "accuracy") == [(T0, 0.9)], name

