"""track_production_metrics and get_production_metrics find the sidecar's store through the same settings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from sidecar import get_production_metrics, track_production_metrics
from sidecar.config import Settings
from sidecar.errors import ConfigurationError
from sidecar.store import StoreDirectory

DAY = datetime(2019, 8, 22, tzinfo=UTC)


def _settings(store: Path, model: str = "churn") -> Settings:
    return Settings(model=model, inputs={"topic": "t", "contract": "c"}, store={"path": str(store)})


def test_series_goes_to_the_database_inside_the_store_directory(tmp_path: Path) -> None:
    store = tmp_path / "store"
    points = track_production_metrics("accuracy", {"2019-08-23": 0.92, date(2019, 8, 22): 0.91}, model="churn",
                                      store=store)
    assert points == [(DAY, 0.91), (datetime(2019, 8, 23, tzinfo=UTC), 0.92)]
    assert [p.name for p in store.iterdir()] == ["production-metrics.sqlite"]
    assert get_production_metrics("accuracy", model="churn", store=store) == points


def test_environment_and_settings_resolve_the_same_store_and_model(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "shared"
    monkeypatch.setenv("SIDECAR_STORE__PATH", str(store))
    monkeypatch.setenv("SIDECAR_MODEL", "churn")
    monkeypatch.setenv("SIDECAR_KAFKA__BOOTSTRAP_SERVERS", "10.0.0.1:9092")  # other sections are not needed
    track_production_metrics("accuracy", {DAY: 0.91})  # batch code: only the environment
    settings = _settings(store)  # the sidecar's settings (here from arguments, as from its YAML file)
    assert get_production_metrics("accuracy", settings=settings) == [(DAY, 0.91)]
    with StoreDirectory(settings.store).production_metrics() as db:  # what the sidecar exports from
        assert db.latest(settings.model) == {"accuracy": (DAY, 0.91)}
    # The environment is what Settings.load reads too: a sidecar started in it agrees.
    monkeypatch.setenv("SIDECAR_INPUTS__TOPIC", "t")
    monkeypatch.setenv("SIDECAR_INPUTS__CONTRACT", "c")
    loaded = Settings.load()
    assert (Path(loaded.store.path), loaded.model) == (store, "churn")


def test_settings_passed_in_give_store_and_model(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "s", model="fraud")
    track_production_metrics("roc_auc", {DAY: 0.7}, settings=settings)
    assert get_production_metrics("roc_auc", model="fraud", store=tmp_path / "s") == [(DAY, 0.7)]
    assert get_production_metrics("roc_auc", model="churn", settings=settings) == []  # model= wins


def test_defaults_without_any_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIDECAR_STORE__PATH", raising=False)
    monkeypatch.delenv("SIDECAR_MODEL", raising=False)
    track_production_metrics("accuracy", {DAY: 0.5})
    with StoreDirectory(Settings(model="x", inputs={"topic": "t", "contract": "c"}).store).production_metrics() as db:
        assert db.latest("default") == {"accuracy": (DAY, 0.5)}
    assert (tmp_path / "model-health-store" / "production-metrics.sqlite").is_file()


def test_nothing_recorded_reads_as_empty_and_creates_nothing(tmp_path: Path) -> None:
    assert get_production_metrics("accuracy", model="m", store=tmp_path / "none") == []
    assert not (tmp_path / "none").exists()


def test_an_old_sqlite_file_fails_naming_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "model-health.db"
    old.write_bytes(b"SQLite format 3\x00")
    monkeypatch.setenv("SIDECAR_STORE__PATH", str(old))
    with pytest.raises(ConfigurationError, match=r"invalid settings \(environment\): store\.path: .*is a file"):
        track_production_metrics("accuracy", {DAY: 0.9})
    monkeypatch.delenv("SIDECAR_STORE__PATH")
    with pytest.raises(ConfigurationError, match=r"store='.*model-health\.db': .*is a file; the store is a directory"):
        get_production_metrics("accuracy", store=old)
    assert old.read_bytes() == b"SQLite format 3\x00"


@pytest.mark.parametrize(("metric", "values", "match"), [
    ("", {DAY: 1.0}, "non-empty"),
    ("accuracy", {DAY: "high"}, "must be a number"),
    ("accuracy", {DAY: float("nan")}, "must be a number"),
    ("accuracy", {"yesterday": 0.9}, "not an ISO date"),
])
def test_bad_input_is_refused_before_anything_is_written(tmp_path: Path, metric: str, values: dict[object, float],
                                                         match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        track_production_metrics(metric, values, store=tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_an_unparsable_section_variable_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_STORE", "{not json")
    with pytest.raises(ConfigurationError, match=r"invalid settings \(environment\).*store"):
        get_production_metrics("accuracy")
