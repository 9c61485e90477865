"""Production performance: how well the model does, measured once outcomes arrive and estimated before.

:mod:`~sidecar.performance.realized` computes classification and regression metrics from joined
(prediction, outcome) pairs; :mod:`~sidecar.performance.cbpe` estimates them from the scores alone
(confidence-based performance estimation); :mod:`~sidecar.performance.sla` judges either against SLA bounds
as a report of ``check="sla"`` rows; :mod:`~sidecar.performance.production` records and reads production
metric series from batch code (``track_production_metrics``).
"""

from sidecar.performance.cbpe import CBPE, ESTIMATED_METRICS, Estimate
from sidecar.performance.production import get_production_metrics, track_production_metrics
from sidecar.performance.realized import classification_metrics, regression_metrics
from sidecar.performance.sla import sla_report

__all__ = [
    "CBPE",
    "ESTIMATED_METRICS",
    "Estimate",
    "classification_metrics",
    "get_production_metrics",
    "regression_metrics",
    "sla_report",
    "track_production_metrics",
]
