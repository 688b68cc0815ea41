"""Gemini API usage as Cloud Monitoring records it: one call (or a minute of calls) -> points.

For a simulation of the Gemini API: :func:`gemini_points` turns "project P, key K, model M,
minute T: N requests, I input and O output tokens" into the points Monitoring would hold, all
with ``"add": true`` so calls in the same minute accumulate:

- ``generate_content_usage_output_token_count`` ``{model}`` += O;
- the tier's input-token quota ``/usage`` ``{model}`` += I (served per ``limit_name``);
- the tier's request quota ``/usage`` ``{model}`` += N (T1 has a per-minute and a per-day one);
- ``serviceruntime`` ``request_count`` ``{credential_id: "apikey:K", response_code}`` += N.

A call that failed (``response_code`` not 2xx) is counted in ``request_count`` only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from standin.clock import rfc3339

__all__ = ["TIERS", "gemini_points"]

_GL = "generativelanguage.googleapis.com"
#: tier -> (input-token quota metric, request quota metrics)
TIERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "free": (
        "generate_content_free_tier_input_token_count",
        ("generate_content_free_tier_requests",),
    ),
    "paid": (
        "generate_content_paid_tier_input_token_count",
        ("generate_requests_per_model", "generate_requests_per_model_per_day"),
    ),
    "paid_2": (
        "generate_content_paid_tier_2_input_token_count",
        ("generate_content_paid_tier_2_requests",),
    ),
    "paid_3": (
        "generate_content_paid_tier_3_input_token_count",
        ("generate_content_paid_tier_3_requests",),
    ),
}


def gemini_points(
    project: str,
    model: str,
    minute: datetime | str,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    requests: int = 1,
    key_uid: str | None = None,
    tier: str = "paid",
    response_code: int = 200,
) -> list[dict[str, Any]]:
    """The Monitoring points of ``requests`` Gemini calls in one minute (``add`` points)."""
    if tier not in TIERS:
        raise ValueError(f"tier: one of {sorted(TIERS)}, got {tier!r}")
    when = minute if isinstance(minute, str) else rfc3339(minute)
    ok = 200 <= response_code < 300

    def point(metric: str, value: int, **labels: str) -> dict[str, Any]:
        return {
            "metric": metric,
            "project": project,
            "labels": labels,
            "minute": when,
            "value": value,
            "add": True,
        }

    points = [
        point(
            "serviceruntime.googleapis.com/api/request_count",
            requests,
            credential_id=f"apikey:{key_uid}" if key_uid else "",
            response_code=str(response_code),
            response_code_class=f"{response_code // 100}xx",
        )
    ]
    if not ok:
        return points
    token_metric, request_metrics = TIERS[tier]
    points += [point(f"{_GL}/quota/{m}/usage", requests, model=model) for m in request_metrics]
    if input_tokens:
        points.append(point(f"{_GL}/quota/{token_metric}/usage", input_tokens, model=model))
    if output_tokens:
        points.append(
            point(f"{_GL}/generate_content_usage_output_token_count", output_tokens, model=model)
        )
    return points
