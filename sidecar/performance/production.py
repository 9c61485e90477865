"""Production metrics recorded from batch code (accuracy of a day, AUC of a backfill, ...).

The series go into the store directory's production-metric database (``<store.path>/production-metrics.sqlite``),
the same directory the sidecar writes its reports to and reads these series from to export
``model_health_production_metric``. Both find it through the same setting: ``store.path``, from the
:class:`~sidecar.config.Settings` passed in or the ``SIDECAR_STORE__PATH`` variable (default
``model-health-store`` in the working directory).

When a control room is configured (``publish.control_url``, from the settings passed in or
``SIDECAR_PUBLISH__CONTROL_URL`` with ``SIDECAR_PUBLISH__TOKEN``), :func:`track_production_metrics` also
sends the points there (``POST /api/v1/metrics``, kind ``realized``), after writing them locally.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from sidecar.errors import ConfigurationError

if TYPE_CHECKING:
    from sidecar.config import PublishSettings, Settings
    from sidecar.store.directory import StoreDirectory

__all__ = ["DEFAULT_MODEL", "MetricPoint", "get_production_metrics", "track_production_metrics"]

MetricPoint = tuple[datetime, float]

#: Points per metric event sent to the control room (a long backfill goes in several, well under its body limit).
_POINTS_PER_EVENT = 10_000

#: The model a series belongs to when neither ``model=``, the settings nor ``SIDECAR_MODEL`` name one.
DEFAULT_MODEL = "default"


def _when(key: object) -> datetime:
    if isinstance(key, datetime):
        return key if key.tzinfo else key.replace(tzinfo=UTC)
    if isinstance(key, date):
        return datetime(key.year, key.month, key.day, tzinfo=UTC)
    if isinstance(key, int | float) and not isinstance(key, bool):
        return datetime.fromtimestamp(float(key), tz=UTC)
    if isinstance(key, str):
        try:
            parsed = datetime.fromisoformat(key.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ConfigurationError(f"production metric time {key!r} is not an ISO date or datetime") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise TypeError(f"production metric time {key!r} must be a date, datetime, ISO string or epoch seconds, "
                    f"not {type(key).__name__}")


def _locate(store: str | os.PathLike[str] | None, model: str | None,
            settings: Settings | None) -> tuple[StoreDirectory, str]:
    """The store directory and model: explicit arguments first, then ``settings``, then the environment."""
    from sidecar.config import StoreLocation, StoreSettings
    from sidecar.store.directory import StoreDirectory

    store_settings = None
    if store is not None:
        try:
            store_settings = StoreSettings(path=os.fspath(store))
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ConfigurationError(f"store={os.fspath(store)!r}: {problem}") from exc
    if store_settings is None or model is None:
        location = StoreLocation.of(settings) if settings is not None else StoreLocation.load()
        if store_settings is None:
            store_settings = location.store
        if model is None:
            model = location.model or DEFAULT_MODEL
    return StoreDirectory(store_settings.path), model


def track_production_metrics(metric: str, values: Mapping[object, float], *, model: str | None = None,
                             store: str | os.PathLike[str] | None = None,
                             settings: Settings | None = None) -> list[MetricPoint]:
    """Record a production metric series (e.g. daily accuracy) into the store's production-metric database.

    Re-recording a point at the same time replaces it, so backfills are idempotent. The sidecar of
    ``model`` exports the newest point of each series as ``model_health_production_metric{model, metric}``.

    Parameters
    ----------
    metric : metric name, e.g. ``"accuracy"`` or ``"roc_auc"``
    values : time -> value; times are dates, datetimes, ISO strings or epoch seconds
    model : the model the series belongs to (default: ``settings.model``, else ``$SIDECAR_MODEL``, else
        ``"default"``)
    store : the store directory (default: ``settings.store.path``, else ``$SIDECAR_STORE__PATH``, else
        ``model-health-store``); the series go to ``<store>/production-metrics.sqlite``
    settings : the sidecar's settings, to use its store and model

    With a control room configured (``publish.control_url`` and ``publish.token`` of ``settings``, else
    ``SIDECAR_PUBLISH__CONTROL_URL`` and ``SIDECAR_PUBLISH__TOKEN``), the points are also sent there, once
    written locally; :class:`~sidecar.errors.PublishError` says what it refused (recording again is
    idempotent, here and there).

    Returns the points written, sorted by time; nothing is written unless every point is valid. Raises
    ``TypeError`` naming the key for a value that is not a number (numpy scalars are numbers) or a time of
    another type, and :class:`~sidecar.errors.ConfigurationError` (a ``ValueError``) for a bad name, an
    unparsable time, a non-finite value, or a store path that is a file (``store.path`` is a directory).
    Safe under concurrent writers (SQLite in WAL mode; a writer waits for another).

    Examples
    --------
    >>> import tempfile
    >>> store = tempfile.mkdtemp()
    >>> track_production_metrics("accuracy", {"2019-08-22": 0.91}, model="churn", store=store)[0][1]
    0.91
    >>> get_production_metrics("accuracy", model="churn", store=store)[0][1]
    0.91
    """
    if not isinstance(metric, str) or not metric:
        raise ConfigurationError(f"metric name must be a non-empty string, got {metric!r}")
    points: list[MetricPoint] = []
    for key, value in values.items():
        # numpy scalars (np.float32, np.int64) are numbers.Real; bools and numpy bools are not a measurement.
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise TypeError(f"production metric {metric!r} at {key!r}: value must be a number, "
                            f"got {type(value).__name__} {value!r}")
        if not math.isfinite(value):
            raise ConfigurationError(f"production metric {metric!r} at {key!r}: value must be finite, got {value!r}")
        points.append((_when(key), float(value)))
    points.sort()
    directory, model = _locate(store, model, settings)
    with directory.production_metrics() as db:
        db.write(model, metric, points)
    control = _control_room(settings)
    if control.over_http and points:
        _send(control, model, metric, points)
    return points


def _control_room(settings: Settings | None) -> PublishSettings:
    from sidecar.config import StoreLocation

    return settings.publish if settings is not None else StoreLocation.load_publish()


def _send(control: PublishSettings, model: str, metric: str, points: list[MetricPoint]) -> None:
    """The points as a metric event to ``POST {control_url}/api/v1/metrics``."""
    from sidecar.report.publish import METRICS_PATH, post_event
    from sidecar.store.base import MetricEvent
    from sidecar.store.base import MetricPoint as Point

    assert control.control_url is not None
    for i in range(0, len(points), _POINTS_PER_EVENT):
        chunk = [Point(time=t, value=v) for t, v in points[i:i + _POINTS_PER_EVENT]]
        event = MetricEvent(model=model, metric=metric, kind="realized", points=chunk)
        post_event(control.control_url, METRICS_PATH, event.model_dump_json().encode("utf-8"),
                   token=control.bearer(), what=f"production metric {metric} of {model}",
                   timeout=control.timeout_seconds)


def get_production_metrics(metric: str, *, model: str | None = None, store: str | os.PathLike[str] | None = None,
                           settings: Settings | None = None) -> list[MetricPoint]:
    """Read back a series recorded with :func:`track_production_metrics`, oldest first.

    ``model``, ``store`` and ``settings`` resolve the store and the model exactly as there; a series
    never recorded (or a store that does not exist yet) gives ``[]``.

    Examples
    --------
    >>> import tempfile
    >>> get_production_metrics("accuracy", store=tempfile.mkdtemp())
    []
    """
    directory, model = _locate(store, model, settings)
    if not directory.production_metrics_path.exists():
        return []
    with directory.production_metrics() as db:
        return db.series(model, metric)
