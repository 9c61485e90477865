"""The store directory: reports and the production-metric database side by side under ``store.path``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sidecar import DataContract
from sidecar.config import Settings, StoreSettings
from sidecar.errors import ConfigurationError
from sidecar.store import PRODUCTION_METRICS_FILE, StoreDirectory


def _t(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def test_reports_and_production_metrics_share_the_directory(tmp_path: Path) -> None:
    import pandas as pd

    store = StoreDirectory(tmp_path / "store")
    assert not store.path.exists()  # nothing is created before something is written
    report = DataContract("c", pd.DataFrame({"x": range(200)})).validate(pd.DataFrame({"x": range(100)}))
    store.reports.append("churn", report)
    with store.production_metrics() as db:
        db.write("churn", "accuracy", [(_t(1), 0.9)])
    assert sorted(p.relative_to(store.path).as_posix() for p in store.path.rglob("*") if p.is_file()) == [
        "churn/c.jsonl", PRODUCTION_METRICS_FILE]
    assert store.production_metrics_path == tmp_path / "store" / "production-metrics.sqlite"
    assert [r.contract for r in store.reports.read("churn", "c")] == ["c"]


def test_latest_is_the_newest_point_of_each_series_of_the_model(tmp_path: Path) -> None:
    store = StoreDirectory(tmp_path)
    with store.production_metrics() as db:
        db.write("churn", "accuracy", [(_t(2), 0.8), (_t(3), 0.85), (_t(1), 0.9)])
        db.write("churn", "roc_auc", [(_t(1), 0.7)])
        db.write("other", "accuracy", [(_t(9), 0.1)])
        db.write("churn", "accuracy", [(_t(3), 0.86)])  # same time: replaced
        assert db.latest("churn") == {"accuracy": (_t(3), 0.86), "roc_auc": (_t(1), 0.7)}
        assert db.latest("nobody") == {}


@pytest.mark.parametrize("name", ["model-health.db", "metrics.sqlite"])
def test_a_sqlite_file_as_store_path_is_refused_naming_the_setting(tmp_path: Path, name: str) -> None:
    old = tmp_path / name
    with pytest.raises(ConfigurationError, match=r"store\.path: .*names a SQLite file; the store is a directory"):
        _load(tmp_path, old)
    assert not old.exists()  # refused before anything was created
    old.write_bytes(b"SQLite format 3\x00")  # an existing file, whatever its name
    with pytest.raises(ConfigurationError, match=r"store\.path: .*is a file; the store is a directory"):
        _load(tmp_path, old)


def _load(tmp_path: Path, store: Path) -> Settings:
    config = tmp_path / "sidecar.yaml"
    config.write_text(f"model: m\ninputs: {{topic: t, contract: c}}\nstore: {{path: {str(store)!r}}}\n")
    return Settings.load(config)


def test_an_existing_directory_may_have_any_name(tmp_path: Path) -> None:
    (tmp_path / "reports.db").mkdir()
    assert StoreSettings(path=str(tmp_path / "reports.db")).path.endswith("reports.db")
