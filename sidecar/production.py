"""Production metrics recorded from batch code (accuracy of a day, AUC of a backfill, ...)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from sidecar.errors import ConfigurationError

__all__ = ["MetricPoint", "track_production_metrics"]

MetricPoint = tuple[datetime, float]


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
    raise ConfigurationError(f"production metric time {key!r} must be a date, datetime, ISO string or epoch seconds")


def track_production_metrics(metric: str, values: Mapping[object, float], *, model: str = "default",
                             store: str | os.PathLike[str] | None = None) -> list[MetricPoint]:
    """Record a production metric series (e.g. daily accuracy) into the metric store.

    Parameters
    ----------
    metric : metric name, e.g. ``"accuracy"`` or ``"roc_auc"``
    values : time -> value; times are dates, datetimes, ISO strings or epoch seconds
    model : the model the series belongs to
    store : SQLite file of the store (default: ``$SIDECAR_STORE__PATH`` or ``model-health.db``)

    Returns the points written, sorted by time.

    Examples
    --------
    >>> import tempfile, os
    >>> db = os.path.join(tempfile.mkdtemp(), "m.db")
    >>> track_production_metrics("accuracy", {"2019-08-22": 0.91}, store=db)[0][1]
    0.91
    """
    from sidecar.store.metrics import MetricStore

    if not isinstance(metric, str) or not metric:
        raise ConfigurationError(f"metric name must be a non-empty string, got {metric!r}")
    points: list[MetricPoint] = []
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise ConfigurationError(f"production metric {metric!r} at {key!r}: value must be a number, got {value!r}")
        points.append((_when(key), float(value)))
    points.sort()
    path = Path(store) if store is not None else Path(os.environ.get("SIDECAR_STORE__PATH", "model-health.db"))
    with MetricStore(path) as db:
        db.write(model, metric, points)
    return points
