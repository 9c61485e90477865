"""``sidecar join``: a faust-streaming app joining a model's predictions with outcomes that arrive later.

Predictions and outcomes, decoded batch by batch (:mod:`~sidecar.join.records`), meet by request id in a
durable keyed table (:mod:`~sidecar.join.tables`, :mod:`~sidecar.join.joiner`, written through
:mod:`~sidecar.join.changelog` and :mod:`~sidecar.join.faustcompat`; what waited past its time-to-live leaves
by :mod:`~sidecar.join.expiry`); joined pairs are aggregated per window of prediction time
(:mod:`~sidecar.join.windows`) into realized metrics, label coverage and delay, and a confidence-based
estimate; :mod:`~sidecar.join.exporter` publishes them in the store, as SLA reports and on the joiner's own
metric set (:class:`sidecar.metrics.JoinMetrics`, served on ``/metrics``: only series the joiner writes).
:func:`create_join_app` builds the app from the settings' ``join:`` section.
"""

from sidecar.join.app import JoinApp, create_join_app
from sidecar.join.joiner import JOIN_EVENTS, Joiner, SweepResult
from sidecar.join.tables import Entry, State
from sidecar.join.windows import WindowBook, WindowResult

__all__ = ["JOIN_EVENTS", "Entry", "JoinApp", "Joiner", "State", "SweepResult", "WindowBook", "WindowResult",
           "create_join_app"]
