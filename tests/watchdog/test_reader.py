"""The usage reader, through the real MetricServiceClient (gRPC) against the stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.errors import ActionFailed, TransientError
from functions.watchdog.monitoring import UsageReader
from functions.watchdog.usage import KeyUsage, TokenUsage
from standin import StandIn

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
GL = "generativelanguage.googleapis.com"
OUT = f"{GL}/generate_content_usage_output_token_count"
PAID = f"{GL}/quota/generate_content_paid_tier_input_token_count/usage"
FREE = f"{GL}/quota/generate_content_free_tier_input_token_count/usage"
TIER2 = f"{GL}/quota/generate_content_paid_tier_2_input_token_count/usage"
REQUESTS_METRIC = f"{GL}/quota/generate_content_paid_tier_3_requests/usage"
REQUESTS = "serviceruntime.googleapis.com/api/request_count"
VERTEX = "aiplatform.googleapis.com/publisher/online_serving/token_count"
HOST = "guard-host"
GUARDED = ["gemini-prod", "gemini-staging"]


def minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def point(metric: str, project: str, n: int, value: int, **labels: str) -> dict[str, Any]:
    return {
        "metric": metric,
        "project": project,
        "labels": labels,
        "minute": minute(n).isoformat(),
        "value": value,
    }


@pytest.fixture
def world(monitoring_env: StandIn) -> StandIn:
    monitoring_env.set_clock(T0 + timedelta(hours=1))
    monitoring_env.set_scope(HOST, [*GUARDED, "shared-infra"])
    return monitoring_env


def reader(services: tuple[str, ...] = (GL,), **kw: Any) -> UsageReader:
    return UsageReader(HOST, GUARDED, services, **kw)


def test_tokens_per_project_model_and_minute(world: StandIn) -> None:
    world.add_points(
        [
            point(OUT, "gemini-prod", 0, 100, model="gemini-2.5-pro"),
            point(OUT, "gemini-prod", 0, 50, model="gemini-2.5-pro", thinking_enabled="true"),
            point(PAID, "gemini-prod", 0, 1_000, model="gemini-2.5-pro"),
            point(OUT, "gemini-prod", 1, 7, model="gemini-2.5-flash"),
            point(OUT, "gemini-staging", 4, 9, model="gemini-2.5-pro"),
            point(OUT, "gemini-prod", 5, 11, model="gemini-2.5-pro"),  # outside (start, end]
            point(OUT, "shared-infra", 0, 999, model="gemini-2.5-pro"),  # in scope, not guarded
            point(REQUESTS_METRIC, "gemini-prod", 0, 3, model="gemini-2.5-pro"),  # not tokens
        ]
    )
    rows = reader().tokens(minute(0), minute(5))
    assert rows == [
        TokenUsage("gemini-prod", "gemini-2.5-flash", minute(1), 0, 7),
        TokenUsage("gemini-prod", "gemini-2.5-pro", minute(0), 1_000, 150),
        TokenUsage("gemini-staging", "gemini-2.5-pro", minute(4), 0, 9),
    ]


def test_input_tokens_one_limit_name_and_tiers_add(world: StandIn) -> None:
    # /usage is served once per limit_name (PerMinute and PerDay): counted once, not twice.
    world.add_points(
        [
            point(FREE, "gemini-prod", 0, 10, model="gemini-2.5-flash"),
            point(PAID, "gemini-prod", 1, 20, model="gemini-2.5-flash"),  # upgraded
            point(TIER2, "gemini-prod", 2, 40, model="gemini-2.5-flash"),
        ]
    )
    rows = reader().tokens(minute(0), minute(3))
    assert [(r.minute, r.input_tokens) for r in rows] == [
        (minute(0), 10),
        (minute(1), 20),
        (minute(2), 40),
    ]
    assert sum(r.input_tokens for r in rows) == 70


def test_vertex_tokens_only_when_guarded(world: StandIn) -> None:
    world.add_points(
        [
            point(VERTEX, "gemini-prod", 0, 300, model_user_id="gemini-2.5-pro", type="input"),
            point(VERTEX, "gemini-prod", 0, 30, model_user_id="gemini-2.5-pro", type="output"),
            point(OUT, "gemini-prod", 0, 5, model="gemini-2.5-pro"),
        ]
    )
    assert reader().tokens(minute(0), minute(1)) == [
        TokenUsage("gemini-prod", "gemini-2.5-pro", minute(0), 0, 5)
    ]
    both = reader((GL, "aiplatform.googleapis.com")).tokens(minute(0), minute(1))
    assert both == [TokenUsage("gemini-prod", "gemini-2.5-pro", minute(0), 300, 35)]


def test_key_requests_gemini_api_keys_only(world: StandIn) -> None:
    world.add_points(
        [
            point(REQUESTS, "gemini-prod", 0, 5, credential_id="apikey:uid-1"),
            point(REQUESTS, "gemini-prod", 0, 2, credential_id="apikey:uid-1", response_code="429"),
            point(REQUESTS, "gemini-prod", 1, 4, credential_id="apikey:uid-2"),
            point(REQUESTS, "gemini-prod", 1, 8, credential_id="serviceaccount:123"),
            point(
                REQUESTS,
                "gemini-staging",
                1,
                80,
                credential_id="apikey:uid-3",
                service="drive.googleapis.com",
            ),
            point(REQUESTS, "shared-infra", 1, 6, credential_id="apikey:uid-4"),
        ]
    )
    assert reader().key_requests(minute(0), minute(2)) == [
        KeyUsage("gemini-prod", "uid-1", minute(0), 7),
        KeyUsage("gemini-prod", "uid-2", minute(1), 4),
    ]


def test_resource_container_as_project_number(world: StandIn) -> None:
    seed = world.state
    seed["monitoring"]["resource_container"] = "number"
    world.set_state(seed)
    world.add_points([point(OUT, "gemini-staging", 0, 5, model="gemini-2.5-pro")])
    assert reader().tokens(minute(0), minute(1)) == []  # numbers unknown: not a guarded project
    rows = reader(numbers={"210987654321": "gemini-staging"}).tokens(minute(0), minute(1))
    assert rows == [TokenUsage("gemini-staging", "gemini-2.5-pro", minute(0), 0, 5)]


def test_points_not_yet_ingested_are_absent_not_zero(world: StandIn) -> None:
    world.add_points([point(OUT, "gemini-prod", n, 1, model="gemini-2.5-pro") for n in range(10)])
    world.set_clock(minute(10) + timedelta(seconds=30))  # minutes 8, 9 end < 150 s ago
    rows = reader().tokens(minute(0), minute(10))
    assert [r.minute for r in rows] == [minute(n) for n in range(8)]


def test_many_projects_few_calls_and_paging(world: StandIn) -> None:
    projects = [f"p-{i:02d}" for i in range(50)]
    models = [f"gemini-m{j}" for j in range(8)]
    world.set_scope(HOST, projects)
    world.add_points(
        [
            point(metric, p, n, 1, model=m)
            for metric in (OUT, PAID)
            for p in projects
            for m in models
            for n in range(15)
        ]
    )
    many = UsageReader(HOST, projects, [GL])
    rows = many.tokens(minute(0), minute(15))
    assert len(rows) == 50 * 8 * 15
    assert all((r.input_tokens, r.output_tokens) == (1, 1) for r in rows)
    # descriptors + output + 4 input-token tiers, one page each
    assert many.calls == 6
    assert len(world.calls("monitoring.projects.timeSeries.list")) == 5
    again = UsageReader(HOST, projects, [GL])
    again.tokens(minute(0), minute(15))
    assert again.calls == 5  # metric names are discovered once per process
    seed = world.state
    seed["monitoring"]["page_size"] = 3_000  # 200 series of 15 points
    seed["monitoring"]["points"] = []
    world.set_state(seed)
    world.set_scope(HOST, projects)
    world.add_points(
        [point(OUT, p, n, 2, model=m) for p in projects for m in models for n in range(15)]
    )
    paged = UsageReader(HOST, projects, [GL])
    rows = paged.tokens(minute(0), minute(15))
    assert sum(r.output_tokens for r in rows) == 2 * 50 * 8 * 15
    assert paged.calls == 2 + 4  # 6,000 points in two pages; four empty input tiers


def test_transient_failures_are_retried_then_raised(world: StandIn) -> None:
    world.add_points([point(OUT, "gemini-prod", 0, 5, model="gemini-2.5-pro")])
    world.add_fault("monitoring.projects.timeSeries.list", "503", calls=[1])
    one = reader()
    assert one.tokens(minute(0), minute(1))[0].output_tokens == 5
    assert one.calls == 1 + 1 + 1 + 4  # descriptors, the failed and the retried output read, tiers
    world.clear_faults()
    world.add_fault("monitoring.projects.timeSeries.list", "429")
    with pytest.raises(TransientError, match="still failing"):
        reader().key_requests(minute(0), minute(1))


def test_permanent_failures_name_the_fix(world: StandIn) -> None:
    world.add_fault("monitoring.projects.timeSeries.list", "403", calls=[1])
    with pytest.raises(ActionFailed, match=r"roles/monitoring\.viewer"):
        reader().tokens(minute(0), minute(1))


def test_no_input_token_metric_is_an_error_not_zero(world: StandIn) -> None:
    scoped = UsageReader(HOST, GUARDED, [GL])
    scoped._client = _NoDescriptors(scoped.client)
    with pytest.raises(ActionFailed, match="input tokens are unknown"):
        scoped.tokens(minute(0), minute(1))


class _NoDescriptors:
    """The real client whose descriptor list comes back empty (pure unit seam)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def list_metric_descriptors(self, request: dict[str, Any], **kw: Any) -> Any:
        request = {**request, "filter": 'metric.type = starts_with("nothing/")'}
        return self._client.list_metric_descriptors(request=request, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_simulated_gemini_calls_read_back(world: StandIn) -> None:
    for _ in range(2):  # two calls in the same minute add up
        world.record_gemini(
            "gemini-prod",
            "gemini-2.5-pro",
            minute(0),
            input_tokens=1_000,
            output_tokens=200,
            key_uid="uid-1",
        )
    world.record_gemini(
        "gemini-prod", "gemini-2.5-pro", minute(0), key_uid="uid-1", response_code=429
    )
    world.record_gemini(
        "gemini-staging", "gemini-3-flash", minute(1), input_tokens=5, output_tokens=1, tier="free"
    )
    status = _post(
        world,
        "monitoring/gemini",
        {
            "calls": [
                {
                    "project": "gemini-staging",
                    "model": "gemini-3-flash",
                    "minute": minute(1).isoformat(),
                    "input_tokens": 5,
                    "output_tokens": 1,
                    "tier": "paid_3",
                    "key_uid": "uid-9",
                }
            ]
        },
    )
    assert status == 200
    assert reader().tokens(minute(0), minute(2)) == [
        TokenUsage("gemini-prod", "gemini-2.5-pro", minute(0), 2_000, 400),
        TokenUsage("gemini-staging", "gemini-3-flash", minute(1), 10, 2),  # tiers add
    ]
    assert reader().key_requests(minute(0), minute(2)) == [
        KeyUsage("gemini-prod", "uid-1", minute(0), 3),  # the 429 is a request too
        KeyUsage("gemini-staging", "uid-9", minute(1), 1),
    ]
    assert _post(world, "monitoring/gemini", {"calls": [{"model": "m"}]}) == 400


def _post(world: StandIn, path: str, body: Any) -> int:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{world.url}/_standin/{path}", data=json.dumps(body).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
