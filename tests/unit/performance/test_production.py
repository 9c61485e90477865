"""track_production_metrics and get_production_metrics find the sidecar's store through the same settings."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
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
    with StoreDirectory(settings.store.path).production_metrics() as db:  # what the sidecar exports from
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
    default = Settings(model="x", inputs={"topic": "t", "contract": "c"}).store
    with StoreDirectory(default.path).production_metrics() as db:
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


@pytest.mark.parametrize(("metric", "values", "error", "match"), [
    ("", {DAY: 1.0}, ConfigurationError, "non-empty"),
    ("accuracy", {"2019-08-22": "high"}, TypeError, r"at '2019-08-22'.*must be a number, got str 'high'"),
    ("accuracy", {DAY: None}, TypeError, "must be a number, got NoneType"),
    ("accuracy", {DAY: True}, TypeError, "must be a number, got bool"),
    ("accuracy", {DAY: np.bool_(True)}, TypeError, "must be a number"),
    ("accuracy", {DAY: np.array([0.9])}, TypeError, "must be a number, got ndarray"),
    ("accuracy", {DAY: float("nan")}, ConfigurationError, "must be finite"),
    ("accuracy", {DAY: 0.9, "2019-08-23": "x"}, TypeError, "at '2019-08-23'"),  # the bad key, not the first
    ("accuracy", {"yesterday": 0.9}, ConfigurationError, "not an ISO date"),
    ("accuracy", {(2019, 8, 22): 0.9}, TypeError, "must be a date, datetime, ISO string or epoch seconds"),
])
def test_bad_input_is_refused_before_anything_is_written(tmp_path: Path, metric: str, values: dict[object, float],
                                                         error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        track_production_metrics(metric, values, store=tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_numpy_scalars_and_the_seed_talk_form(tmp_path: Path) -> None:
    written = track_production_metrics("accuracy", {"2019-08-22": 0.91, date(2019, 8, 23): np.float32(0.5),
                                                    datetime(2019, 8, 24, 12, tzinfo=UTC): np.int64(1)},
                                       store=tmp_path, model="m")
    assert [v for _, v in written] == [0.91, 0.5, 1.0]
    assert get_production_metrics("accuracy", store=tmp_path, model="m") == written


def _write_many(store: str, worker: int) -> None:
    for i in range(50):
        track_production_metrics("accuracy", {float(worker * 1000 + i): i / 100}, store=store, model="m")


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    # Four processes, 50 separate transactions each, into one new database: every point lands.
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(tmp_path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert len(get_production_metrics("accuracy", store=tmp_path, model="m")) == 200


def test_an_unparsable_section_variable_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_STORE", "{not json")
    with pytest.raises(ConfigurationError, match=r"invalid settings \(environment\).*store"):
        get_production_metrics("accuracy")
