"""model-health-sidecar: data contracts and a Kafka sidecar that watch ML models in production.

The batch SDK (``DataContract``, ``ValidationReport``) and the streaming sidecar share one statistics core,
so a batch validation and a stream window over the same rows give the same numbers.
"""

from sidecar.contract import DataContract
from sidecar.performance.production import get_production_metrics, track_production_metrics
from sidecar.report.model import CheckResult, Status, ValidationReport

__all__ = [
    "CheckResult",
    "DataContract",
    "Status",
    "ValidationReport",
    "get_production_metrics",
    "track_production_metrics",
]
__version__ = "0.1.0"
