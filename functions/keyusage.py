"""Requests per API key and per API over a look-back, from Cloud Monitoring (for the key audit).

One ``timeSeries.list`` per project: ``serviceruntime.googleapis.com/api/request_count`` on
``consumed_api``, API-key credentials only (``resource.labels.credential_id`` =
``apikey:<Key.uid>``), aligned by day (``alignmentPeriod=86400s``, ``ALIGN_SUM``) and summed
(``REDUCE_SUM``) grouped by ``credential_id`` and ``service``. The answer is
{key uid: {service: requests}}; a key absent from it made no request.

google-cloud-monitoring is gRPC only (USAGE.md §3). ``BUDGET_GUARD_MONITORING_ENDPOINT``
(host:port) points it at a local stand-in over an insecure channel; unset, Google's endpoint
with the default credentials.

Errors: any failure to read (permission, network, a malformed answer) raises ``UsageUnknown``:
the caller must treat the usage as unknown, never as 0 requests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from functions.errors import GuardError

__all__ = ["ENV_ENDPOINT", "METRIC", "UsageUnknown", "requests_by_key"]

ENV_ENDPOINT = "BUDGET_GUARD_MONITORING_ENDPOINT"
METRIC = "serviceruntime.googleapis.com/api/request_count"
_PREFIX = "apikey:"
_DAY = 86400


class UsageUnknown(GuardError):
    """Monitoring could not say how much the keys were used."""


def _client() -> Any:
    from google.cloud import monitoring_v3

    endpoint = os.environ.get(ENV_ENDPOINT)
    if not endpoint:
        return monitoring_v3.MetricServiceClient()
    import grpc  # type: ignore[import-untyped]
    from google.cloud.monitoring_v3.services.metric_service.transports import (
        MetricServiceGrpcTransport,
    )

    channel = grpc.insecure_channel(endpoint.removeprefix("http://"))
    return monitoring_v3.MetricServiceClient(transport=MetricServiceGrpcTransport(channel=channel))


def filter_text(project: str) -> str:
    return (
        f'metric.type = "{METRIC}" AND resource.type = "consumed_api" '
        f'AND resource.labels.project_id = "{project}" '
        f'AND resource.labels.credential_id = starts_with("{_PREFIX}")'
    )


def add_series(
    totals: dict[str, dict[str, int]], labels: Mapping[str, str], values: list[int]
) -> None:
    """Add one series' points to ``totals`` (uid -> service -> requests)."""
    credential, service = labels.get("credential_id", ""), labels.get("service", "")
    if not credential.startswith(_PREFIX) or not service:
        raise UsageUnknown(f"a request_count series without credential_id/service: {labels}")
    uid = credential.removeprefix(_PREFIX)
    per_key = totals.setdefault(uid, {})
    per_key[service] = per_key.get(service, 0) + sum(values)


def requests_by_key(project: str, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """{key uid: {service: requests in (start, end]}} for the API keys of ``project``."""
    try:
        from google.cloud import monitoring_v3

        request = monitoring_v3.ListTimeSeriesRequest(
            name=f"projects/{project}",
            filter=filter_text(project),
            interval=monitoring_v3.TimeInterval(start_time=start, end_time=end),
            aggregation=monitoring_v3.Aggregation(
                alignment_period={"seconds": _DAY},
                per_series_aligner=monitoring_v3.Aggregation.Aligner.ALIGN_SUM,
                cross_series_reducer=monitoring_v3.Aggregation.Reducer.REDUCE_SUM,
                group_by_fields=["resource.labels.credential_id", "resource.labels.service"],
            ),
            view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL,
        )
        totals: dict[str, dict[str, int]] = {}
        for series in _client().list_time_series(request=request, timeout=20):
            add_series(
                totals,
                dict(series.resource.labels),
                [int(point.value.int64_value) for point in series.points],
            )
        return totals
    except UsageUnknown:
        raise
    except Exception as exc:  # permission, network, stand-in down: unknown, never 0
        raise UsageUnknown(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
