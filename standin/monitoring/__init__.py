"""Cloud Monitoring in the stand-in: scripted per-minute series served over gRPC.

``catalogue`` (the metrics), ``state`` (points, scopes, delays), ``query`` (filters, alignment,
reduction, paging), ``service`` (the gRPC MetricService), ``admin`` (the HTTP admin endpoints).
"""

from __future__ import annotations

__all__: list[str] = []
