"""Gemini usage -> the Monitoring stand-in's series, as Google would record it.

A :data:`standin.gemini.Sink`: every answered batch becomes the minute's points
(:func:`standin.monitoring.gemini.gemini_points`: output tokens and the tier's quota ``/usage``
by model for accepted calls, ``request_count`` by ``credential_id`` and response code for every
call), accumulated per minute. The ingestion delay is the Monitoring stand-in's own (a point is
visible once its clock is past the minute's end plus the delay of its type, 150 s / 180 s).
"""

from __future__ import annotations

from standin.gemini import Usage
from standin.monitoring.gemini import gemini_points
from standin.monitoring.state import MonitoringState

__all__ = ["MonitoringFeed"]


class MonitoringFeed:
    """Writes each :class:`Usage` into ``monitoring`` (the world's Monitoring state)."""

    def __init__(self, monitoring: MonitoringState) -> None:
        self.monitoring = monitoring

    def __call__(self, usage: Usage) -> None:
        points = gemini_points(
            usage.project_id,
            usage.model,
            usage.minute,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            requests=usage.requests,
            key_uid=usage.key_uid,
            tier="paid" if usage.billed or usage.code != 200 else "free",
            response_code=usage.code,
        )
        self.monitoring.write(points)
