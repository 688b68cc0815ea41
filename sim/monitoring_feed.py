"""Gemini usage -> the Monitoring stand-in's series, as Google would record it.

A :data:`standin.gemini.Sink`: every answered batch becomes DELTA points of its minute
(accumulated with ``"add": true``) on the series the watchdog reads (USAGE.md §3):

- accepted: ``generate_content_usage_output_token_count`` (output tokens, by model), the quota
  ``/usage`` series of the project's tier (input tokens and requests, by model);
- every answer: ``serviceruntime.googleapis.com/api/request_count`` by ``credential_id``
  ``apikey:<uid>`` and ``response_code``.

The ingestion delay is the Monitoring stand-in's own (a point is visible once its clock is past
the point's end plus the delay of its type, 150 s / 180 s by default).
"""

from __future__ import annotations

from typing import Any

from standin.clock import rfc3339
from standin.gemini import Usage
from standin.monitoring.state import MonitoringState

__all__ = ["MonitoringFeed"]

_GL = "generativelanguage.googleapis.com"
_PAID = ("generate_content_paid_tier_input_token_count", "generate_requests_per_model")
_FREE = ("generate_content_free_tier_input_token_count", "generate_content_free_tier_requests")


class MonitoringFeed:
    """Writes each :class:`Usage` into ``monitoring`` (the world's Monitoring state)."""

    def __init__(self, monitoring: MonitoringState) -> None:
        self.monitoring = monitoring

    def points(self, usage: Usage) -> list[dict[str, Any]]:
        minute = rfc3339(usage.minute)

        def point(metric: str, labels: dict[str, str], value: int) -> dict[str, Any]:
            return {"metric": metric, "project": usage.project_id, "labels": labels,
                    "minute": minute, "value": value, "add": True}  # fmt: skip

        code = str(usage.code)
        out = [
            point(
                "serviceruntime.googleapis.com/api/request_count",
                {
                    "credential_id": f"apikey:{usage.key_uid}",
                    "response_code": code,
                    "response_code_class": f"{code[0]}xx",
                },
                usage.requests,
            )
        ]
        if usage.code == 200:
            tokens_metric, requests_metric = _PAID if usage.billed else _FREE
            model = {"model": usage.model}
            out += [
                point(
                    f"{_GL}/generate_content_usage_output_token_count", model, usage.output_tokens
                ),
                point(f"{_GL}/quota/{tokens_metric}/usage", model, usage.input_tokens),
                point(f"{_GL}/quota/{requests_metric}/usage", model, usage.requests),
            ]
        return out

    def __call__(self, usage: Usage) -> None:
        self.monitoring.write(self.points(usage))
