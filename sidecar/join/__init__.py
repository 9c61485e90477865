"""``sidecar join``: a faust-streaming app joining a model's predictions with outcomes that arrive later.

Predictions and outcomes meet by request id in a durable keyed table (:mod:`~sidecar.join.tables`,
:mod:`~sidecar.join.joiner`); joined pairs are aggregated per window of prediction time
(:mod:`~sidecar.join.windows`) into realized metrics, label coverage and delay, and a confidence-based
estimate; :mod:`~sidecar.join.exporter` publishes them on ``/metrics``, in the store and as SLA reports.
:func:`create_join_app` builds the app from the settings' ``join:`` section.
"""

from sidecar.join.app import JoinApp, create_join_app
from sidecar.join.joiner import JOIN_EVENTS, Joiner, SweepResult
from sidecar.join.tables import Entry, State
from sidecar.join.windows import WindowBook, WindowResult

__all__ = ["JOIN_EVENTS", "Entry", "JoinApp", "Joiner", "State", "SweepResult", "WindowBook", "WindowResult",
           "create_join_app"]
