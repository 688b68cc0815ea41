"""Reading Gemini usage from Cloud Monitoring: one query per metric over a metrics scope.

Owns the Monitoring side of the watchdog: which metrics, how they are queried and how their
series become :class:`~functions.watchdog.usage.TokenUsage` and ``KeyUsage`` rows (USAGE.md §3).

- Output tokens: ``generate_content_usage_output_token_count``.
- Input tokens: the quota ``…/quota/<qm>/usage`` metrics whose quota metric ends in
  ``input_token_count``, discovered once per process with ``ListMetricDescriptors``. Each is
  written once per ``limit_name`` with the same value: the series are grouped by
  ``limit_name`` too and one value is kept per minute (the largest, should they ever differ),
  never a sum; ``/limit`` is never read. A project is on one tier at a time, so the tier
  metrics add. They include cached tokens (the price table prices them as uncached).
- Vertex AI (when ``aiplatform.googleapis.com`` is guarded): the publisher ``token_count``,
  by ``model_user_id``; ``type`` ``input`` is input, any other value counts as output (dearer).
- Requests per API key: ``serviceruntime`` ``request_count`` on ``consumed_api``, service
  ``generativelanguage.googleapis.com``, grouped by project and ``credential_id``; only
  ``apikey:<uid>`` credentials become rows.

Every query: ``alignmentPeriod`` 60 s, ALIGN_SUM, REDUCE_SUM grouped by the project's label
and the model, over ``(start, end]`` cut to whole minutes (bucket minutes ``[start, end)``),
the guarded projects in a ``one_of(…)`` (ids, and ``projects/NUMBER`` for those in
``numbers``: which form ``resource_container`` takes is open, USAGE.md §8), all pages
followed. ``calls`` counts RPCs (retries included).

``BUDGET_GUARD_MONITORING_ENDPOINT=host:port`` points the client at the stand-in (insecure gRPC,
no credentials); unset, Google with the function's default credentials. The client is imported
on first use (cold start).

Errors: a transient failure is retried (``functions.gcp.call``, up to its deadline) then raised
as ``TransientError``; a permanent one (permission, unknown metric, bad filter) as
``ActionFailed`` naming the fix. A read never answers 0 for "unknown".
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, partial
from typing import Any

from functions import gcp
from functions.errors import ActionFailed
from functions.watchdog.usage import KeyUsage, TokenUsage, minute_of

__all__ = [
    "ENV_MONITORING_ENDPOINT",
    "GEMINI_SERVICE",
    "VERTEX_SERVICE",
    "UsageReader",
    "metrics_client",
    "reset",
]

ENV_MONITORING_ENDPOINT = "BUDGET_GUARD_MONITORING_ENDPOINT"
GEMINI_SERVICE = "generativelanguage.googleapis.com"
VERTEX_SERVICE = "aiplatform.googleapis.com"
OUTPUT_TOKENS = f"{GEMINI_SERVICE}/generate_content_usage_output_token_count"
QUOTA_PREFIX = f"{GEMINI_SERVICE}/quota/"
INPUT_SUFFIX = "_input_token_count/usage"
REQUESTS = "serviceruntime.googleapis.com/api/request_count"
VERTEX_TOKENS = f"{VERTEX_SERVICE}/publisher/online_serving/token_count"
PAGE_SIZE = 100_000  # points per page, Monitoring's maximum

_REMEDIES: dict[Any, str] = {
    "PERMISSION_DENIED": "grant the watchdog's service account roles/monitoring.viewer on the "
    "metrics scope's host project (and add the guarded projects to that scope)",
    "NOT_FOUND": "the metric does not exist in this metrics scope: check its name (USAGE.md §3)",
    "INVALID_ARGUMENT": "the watchdog sent a query Monitoring refuses: report it as a bug",
}


@dataclass(frozen=True)
class _Query:
    """One metric's query: its filter parts and what to group by."""

    metric: str
    resource_type: str
    project_label: str  # resource label naming the project
    group_by: tuple[str, ...]  # besides the project label
    extra: str = ""  # more filter terms
    alignment: int = 60  # seconds; above a minute, points are not cut to (start, end] minutes


@cache
def metrics_client(endpoint: str | None) -> Any:
    """The MetricServiceClient for ``endpoint`` (``host:port``, insecure) or Google (None)."""
    from google.cloud import monitoring_v3

    if endpoint:
        import grpc
        from google.cloud.monitoring_v3.services.metric_service.transports import (
            MetricServiceGrpcTransport,
        )

        # as the client's own channel: no 4 MiB cap on a page (a catch-up read is large)
        unlimited = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
        channel = grpc.insecure_channel(endpoint, options=unlimited)
        return monitoring_v3.MetricServiceClient(
            transport=MetricServiceGrpcTransport(channel=channel)
        )
    return monitoring_v3.MetricServiceClient()


# Input-token metric names per scope, discovered once per process.
_DISCOVERED: dict[str, tuple[str, ...]] = {}


def reset() -> None:
    """Forget the discovered metric names and the built clients (tests switch stand-ins)."""
    _DISCOVERED.clear()
    metrics_client.cache_clear()


def _model(labels: Mapping[str, str], name: str) -> str:
    """The model a series is about; a series without one is still counted (at the unknown-model
    price, the dearest) rather than dropped."""
    return labels.get(name) or "(no model label)"


def _quoted(values: Sequence[str]) -> str:
    return ", ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)


class UsageReader:
    """Usage of ``projects`` (ids) from ``scope_project``'s metrics scope.

    ``numbers`` maps project numbers to ids, for ``resource_container`` values of the form
    ``projects/NUMBER``. ``client``: a MetricServiceClient (default: from the environment).
    """

    def __init__(
        self,
        scope_project: str,
        projects: Sequence[str],
        services: Sequence[str],
        numbers: Mapping[str, str] | None = None,
        client: Any = None,
    ) -> None:
        self.scope_project = scope_project
        self.projects = tuple(dict.fromkeys(projects))
        self.services = frozenset(services)
        self.numbers = {str(n): p for n, p in (numbers or {}).items() if p in self.projects}
        self._client = client
        self.calls = 0

    # public ----------------------------------------------------------------------------------

    def tokens(self, start: datetime, end: datetime) -> list[TokenUsage]:
        """Per (project, model, minute) input and output tokens, minutes ``[start, end)``.

        ``start`` and ``end`` are cut to whole minutes; a minute's bucket is Monitoring's aligned
        point ending a minute later, so the query interval is ``(start, end]``. Minutes not yet
        ingested (the delay) are absent, never zero rows.
        """
        if not self.projects:
            return []
        inputs: dict[tuple[str, str, datetime], int] = defaultdict(int)
        outputs: dict[tuple[str, str, datetime], int] = defaultdict(int)
        container = _Query(
            OUTPUT_TOKENS,
            f"{GEMINI_SERVICE}/Location",
            "resource_container",
            ("metric.labels.model",),
        )
        for project, labels, minute, value in self._read(container, start, end):
            outputs[(project, _model(labels, "model"), minute)] += value
        for metric in self._input_metrics():
            query = _Query(
                metric,
                f"{GEMINI_SERVICE}/Location",
                "resource_container",
                ("metric.labels.model", "metric.labels.limit_name"),
            )
            one: dict[tuple[str, str, datetime], int] = {}
            for project, labels, minute, value in self._read(query, start, end):
                key = (project, _model(labels, "model"), minute)
                one[key] = max(one.get(key, 0), value)  # one limit_name, never a sum
            for key, value in one.items():
                inputs[key] += value  # tiers add: a project is on one at a time
        if VERTEX_SERVICE in self.services:
            vertex = _Query(
                VERTEX_TOKENS,
                f"{VERTEX_SERVICE}/PublisherModel",
                "resource_container",
                ("resource.labels.model_user_id", "metric.labels.type"),
            )
            for project, labels, minute, value in self._read(vertex, start, end):
                key = (project, _model(labels, "model_user_id"), minute)
                (inputs if labels.get("type") == "input" else outputs)[key] += value
        return [
            TokenUsage(project, model, minute, inputs.get(key, 0), outputs.get(key, 0))
            for key in sorted(set(inputs) | set(outputs))
            for project, model, minute in [key]
        ]

    def key_requests(self, start: datetime, end: datetime) -> list[KeyUsage]:
        """Per (project, API key uid, minute) Gemini API requests, minutes ``[start, end)``."""
        if not self.projects:
            return []
        query = _Query(
            REQUESTS,
            "consumed_api",
            "project_id",
            ("resource.labels.credential_id",),
            f'resource.labels.service = "{GEMINI_SERVICE}"',
        )
        counts: dict[tuple[str, str, datetime], int] = defaultdict(int)
        for project, labels, minute, value in self._read(query, start, end):
            credential = labels.get("credential_id", "")
            if credential.startswith("apikey:") and len(credential) > len("apikey:"):
                counts[(project, credential.removeprefix("apikey:"), minute)] += value
        return [KeyUsage(p, uid, minute, n) for (p, uid, minute), n in sorted(counts.items())]

    def key_requests_by_api(
        self, start: datetime, end: datetime
    ) -> dict[tuple[str, str], dict[str, int]]:
        """Per (project, API key uid): requests per API, every API, in (start, end].

        For the key audit's 30-day look-back: ``request_count`` grouped by ``credential_id``
        and ``service``, aligned by day (``alignmentPeriod`` 86400 s). A key absent made none.
        """
        if not self.projects:
            return {}
        query = _Query(
            REQUESTS,
            "consumed_api",
            "project_id",
            ("resource.labels.credential_id", "resource.labels.service"),
            'resource.labels.credential_id = starts_with("apikey:")',
            alignment=86400,
        )
        counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for project, labels, _, value in self._read(query, start, end):
            uid = labels.get("credential_id", "").removeprefix("apikey:")
            if uid and labels.get("service"):
                counts[(project, uid)][labels["service"]] += value
        return {key: dict(per_api) for key, per_api in counts.items()}

    # Monitoring ------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = metrics_client(os.environ.get(ENV_MONITORING_ENDPOINT) or None)
        return self._client

    def _rpc(self, what: str, fn: Callable[[], Any]) -> Any:
        def attempt() -> Any:
            self.calls += 1
            return fn()

        return gcp.call(f"Monitoring {what} in projects/{self.scope_project}", attempt, _REMEDIES)

    def _input_metrics(self) -> tuple[str, ...]:
        found = _DISCOVERED.get(self.scope_project)
        if found is not None:
            return found
        names: list[str] = []
        token = ""
        while True:
            request = {
                "name": f"projects/{self.scope_project}",
                "filter": f'metric.type = starts_with("{QUOTA_PREFIX}")',
                "page_token": token,
            }
            page = self._rpc(
                "metricDescriptors.list",
                partial(self._first_page, self.client.list_metric_descriptors, request),
            )
            names += [d.type for d in page.metric_descriptors if d.type.endswith(INPUT_SUFFIX)]
            token = page.next_page_token
            if not token:
                break
        if not names:
            raise ActionFailed(
                f"Monitoring lists no {QUOTA_PREFIX}*{INPUT_SUFFIX} metric in "
                f"projects/{self.scope_project}: input tokens are unknown",
                "check the metrics scope and the Gemini quota metric names (USAGE.md §3)",
            )
        _DISCOVERED[self.scope_project] = found = tuple(sorted(set(names)))
        return found

    def _first_page(self, method: Callable[..., Any], request: dict[str, Any]) -> Any:
        pager = method(request=request, retry=None, timeout=gcp.TIMEOUT)
        return next(iter(pager.pages))

    def _filter(self, query: _Query) -> str:
        refs = [*self.projects, *self.numbers, *(f"projects/{n}" for n in self.numbers)]
        parts = [
            f'metric.type = "{query.metric}"',
            f'resource.type = "{query.resource_type}"',
            f"resource.labels.{query.project_label} = one_of({_quoted(refs)})",
        ]
        if query.extra:
            parts.append(query.extra)
        return " AND ".join(parts)

    def _project(self, ref: str) -> str | None:
        if ref in self.projects:
            return ref
        return self.numbers.get(ref.removeprefix("projects/"))

    def _read(
        self, query: _Query, start: datetime, end: datetime
    ) -> Iterator[tuple[str, dict[str, str], datetime, int]]:
        """(project, grouped labels, minute, value) for every aligned point of ``query``."""
        from google.cloud import monitoring_v3

        first, last = minute_of(start), minute_of(end)
        if last <= first:
            return
        aggregation = monitoring_v3.Aggregation(
            alignment_period={"seconds": query.alignment},
            per_series_aligner=monitoring_v3.Aggregation.Aligner.ALIGN_SUM,
            cross_series_reducer=monitoring_v3.Aggregation.Reducer.REDUCE_SUM,
            group_by_fields=[f"resource.labels.{query.project_label}", *query.group_by],
        )
        minutes: dict[int, datetime] = {}
        token = ""
        while True:
            request = monitoring_v3.ListTimeSeriesRequest(
                name=f"projects/{self.scope_project}",
                filter=self._filter(query),
                interval={"start_time": first, "end_time": last},
                aggregation=aggregation,
                page_size=PAGE_SIZE,
                page_token=token,
            )
            page = self._rpc(
                f"timeSeries.list {query.metric}",
                partial(self._first_page, self.client.list_time_series, request),
            )
            raw = type(page).pb(page)  # raw protobuf: proto-plus is slow on many points
            for series in raw.time_series:
                labels = {**series.resource.labels, **series.metric.labels}
                project = self._project(labels.get(query.project_label, ""))
                if project is None:
                    continue
                for point in series.points:
                    seconds = (
                        point.interval.start_time.seconds or point.interval.end_time.seconds - 60
                    )
                    minute = minutes.get(seconds)
                    if minute is None:
                        minute = minutes[seconds] = minute_of(datetime.fromtimestamp(seconds, UTC))
                    if query.alignment > 60 or first <= minute < last:
                        yield project, labels, minute, int(point.value.int64_value)
            token = page.next_page_token
            if not token:
                return
