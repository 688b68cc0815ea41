"""The metrics the stand-in's Cloud Monitoring knows: types, resources, labels, kinds, limits.

Data only (USAGE.md §3). A ``/usage`` quota metric is written once per ``limit_name`` with the
same value (PerMinute and PerDay), as Google does; its ``/limit`` twin is a GAUGE of the limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = ["CATALOGUE", "GEMINI_METHOD", "PROJECT_LABEL", "UNLIMITED", "MetricInfo", "info"]

UNLIMITED = 9_223_372_036_854_775_807  # what Google reports as an unlimited quota
GEMINI_METHOD = "google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent"
_GL = "generativelanguage.googleapis.com"
_GL_RESOURCE = f"{_GL}/Location"


@dataclass(frozen=True)
class MetricInfo:
    """One metric type. ``defaults``: label values a scripted point need not give."""

    type: str
    resource_type: str
    resource_labels: tuple[str, ...]
    metric_labels: tuple[str, ...]
    kind: str  # DELTA | GAUGE
    unit: str = "1"
    description: str = ""
    defaults: dict[str, str] = field(default_factory=dict)
    #: quota /usage and /limit: limit_name -> the limit's value
    limits: dict[str, int] = field(default_factory=dict)
    #: a /limit metric: derived from its /usage twin, never scripted
    derived_from: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return self.resource_labels + self.metric_labels


def _quota(qm: str, limits: dict[str, int], unit: str) -> list[MetricInfo]:
    base = f"{_GL}/quota/{qm}"
    usage = MetricInfo(
        type=f"{base}/usage",
        resource_type=_GL_RESOURCE,
        resource_labels=("resource_container", "location"),
        metric_labels=("limit_name", "method", "model"),
        kind="DELTA",
        unit=unit,
        description=f"Quota usage of {qm}",
        defaults={"location": "global", "method": GEMINI_METHOD},
        limits=limits,
    )
    limit = replace(
        usage,
        type=f"{base}/limit",
        kind="GAUGE",
        description=f"Quota limit of {qm}",
        derived_from=usage.type,
    )
    return [usage, limit]


def _per(name: str, minute: int, day: int = UNLIMITED) -> dict[str, int]:
    """PerMinute and PerDay limit names of one quota (``{suffix}`` marks the tier)."""
    return {
        name.format(period="Minute"): minute,
        name.format(period="Day"): day,
    }


_QUOTAS: list[tuple[str, dict[str, int], str]] = [
    (
        "generate_content_free_tier_input_token_count",
        _per("GenerateContentInputTokensPerModelPer{period}-FreeTier", 250_000, 1_000_000),
        "{token}",
    ),
    (
        "generate_content_paid_tier_input_token_count",
        _per("GenerateContentPaidTierInputTokensPerModelPer{period}", 2_000_000),
        "{token}",
    ),
    (
        "generate_content_paid_tier_2_input_token_count",
        _per("GenerateContentPaidTierInputTokensPerModelPer{period}-PaidTier2", 3_000_000),
        "{token}",
    ),
    (
        "generate_content_paid_tier_3_input_token_count",
        _per("GenerateContentPaidTierInputTokensPerModelPer{period}-PaidTier3", 8_000_000),
        "{token}",
    ),
    (
        "generate_content_free_tier_requests",
        _per("GenerateRequestsPer{period}PerProjectPerModel-FreeTier", 10, 20),
        "{request}",
    ),
    (
        "generate_requests_per_model",
        {"GenerateRequestsPerMinutePerProjectPerModel": 1_000},
        "{request}",
    ),
    (
        "generate_requests_per_model_per_day",
        {"GenerateRequestsPerDayPerProjectPerModel": 10_000},
        "{request}",
    ),
    (
        "generate_content_paid_tier_2_requests",
        _per("GenerateRequestsPer{period}PerProjectPerModel-PaidTier2", 2_000),
        "{request}",
    ),
    (
        "generate_content_paid_tier_3_requests",
        _per("GenerateRequestsPer{period}PerProjectPerModel-PaidTier3", 20_000),
        "{request}",
    ),
]

CATALOGUE: dict[str, MetricInfo] = {
    m.type: m
    for m in [
        MetricInfo(
            type=f"{_GL}/generate_content_usage_output_token_count",
            resource_type=_GL_RESOURCE,
            resource_labels=("resource_container", "location"),
            metric_labels=("model", "output_modality", "thinking_enabled"),
            kind="DELTA",
            unit="{token}",
            description="Output tokens of generate content calls, thinking included",
            defaults={"location": "global", "output_modality": "TEXT", "thinking_enabled": "false"},
        ),
        *[m for qm, limits, unit in _QUOTAS for m in _quota(qm, limits, unit)],
        MetricInfo(
            type="serviceruntime.googleapis.com/api/request_count",
            resource_type="consumed_api",
            resource_labels=(
                "project_id",
                "service",
                "method",
                "version",
                "location",
                "credential_id",
            ),
            metric_labels=("response_code", "response_code_class", "grpc_status_code", "protocol"),
            kind="DELTA",
            description="Requests to a Google API",
            defaults={
                "service": _GL,
                "method": GEMINI_METHOD,
                "version": "v1beta",
                "location": "global",
                "credential_id": "",
                "response_code": "200",
                "response_code_class": "2xx",
                "grpc_status_code": "0",
                "protocol": "http",
            },
        ),
        MetricInfo(
            type="aiplatform.googleapis.com/publisher/online_serving/token_count",
            resource_type="aiplatform.googleapis.com/PublisherModel",
            resource_labels=(
                "resource_container",
                "location",
                "publisher",
                "model_user_id",
                "model_version_id",
            ),
            metric_labels=("type",),
            kind="DELTA",
            unit="{token}",
            description="Vertex AI publisher model tokens (input and output)",
            defaults={"location": "us-central1", "publisher": "google", "model_version_id": ""},
        ),
    ]
}

#: The label a project lives in, per resource type (the rest of the resource labels are scripted).
PROJECT_LABEL = {
    _GL_RESOURCE: "resource_container",
    "consumed_api": "project_id",
    "aiplatform.googleapis.com/PublisherModel": "resource_container",
}


def info(metric_type: str) -> MetricInfo | None:
    return CATALOGUE.get(metric_type)
