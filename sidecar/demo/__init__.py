"""Demos behind ``make demo``: a batch validation, then the streaming sidecar on local Kafka."""

from sidecar.demo.data import churn_frame

__all__ = ["churn_frame"]
