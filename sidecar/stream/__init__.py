"""The streaming side of the sidecar: message decoders, windows, the Kafka consumer loop and dead letters.

Subpackages and modules each own one job (see DESIGN.md section 4); ``decoders`` turns raw messages into
typed column batches for the statistics core.
"""

from __future__ import annotations

__all__: list[str] = []
