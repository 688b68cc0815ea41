"""The stand-in's Cloud Monitoring, through the real ``MetricServiceClient`` over gRPC."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.cloud import monitoring_v3
from google.cloud.monitoring_v3.services.metric_service.transports import (
    MetricServiceGrpcTransport,
)

from standin import SeedError, StandIn

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
OUT = "generativelanguage.googleapis.com/generate_content_usage_output_token_count"
QUOTA = "generativelanguage.googleapis.com/quota/generate_content_paid_tier_input_token_count"
REQUESTS = "serviceruntime.googleapis.com/api/request_count"
HOST = "guard-host"


@pytest.fixture
def world(standin: StandIn) -> Iterator[StandIn]:
    standin.set_clock(T0 + timedelta(hours=1))
    standin.set_scope(HOST, ["gemini-prod", "gemini-staging"])
    yield standin
    standin.set_clock(None)


@pytest.fixture
def client(standin_server: StandIn) -> Iterator[monitoring_v3.MetricServiceClient]:
    channel = grpc.insecure_channel(standin_server.monitoring_endpoint)
    yield monitoring_v3.MetricServiceClient(transport=MetricServiceGrpcTransport(channel=channel))
    channel.close()


def _points(metric: str, project: str, labels: dict[str, str], values: list[int]) -> list[Any]:
    return [
        {
            "metric": metric,
            "project": project,
            "labels": labels,
            "minute": (T0 + timedelta(minutes=i)).isoformat(),
            "value": v,
        }
        for i, v in enumerate(values)
    ]


def _list(
    client: monitoring_v3.MetricServiceClient,
    filter_: str,
    start: datetime | None,
    end: datetime,
    aggregation: dict[str, Any] | None = None,
    **kw: Any,
) -> list[Any]:
    interval: dict[str, Any] = {"end_time": end}
    if start is not None:
        interval["start_time"] = start
    request: dict[str, Any] = {"name": f"projects/{HOST}", "filter": filter_, "interval": interval}
    if aggregation is not None:
        request["aggregation"] = aggregation
    timeout = kw.pop("timeout", None)
    request.update(kw)
    return list(client.list_time_series(request=request, retry=None, timeout=timeout))


def _sum(period: int = 60, *group_by: str) -> dict[str, Any]:
    agg: dict[str, Any] = {
        "alignment_period": {"seconds": period},
        "per_series_aligner": monitoring_v3.Aggregation.Aligner.ALIGN_SUM,
    }
    if group_by:
        agg["cross_series_reducer"] = monitoring_v3.Aggregation.Reducer.REDUCE_SUM
        agg["group_by_fields"] = list(group_by)
    return agg


def _values(series: Any) -> list[tuple[str, int]]:
    return [(p.interval.end_time.strftime("%H:%M"), p.value.int64_value) for p in series.points]


def test_raw_points_newest_first_in_the_interval(world: StandIn, client: Any) -> None:
    world.add_points(_points(OUT, "gemini-prod", {"model": "gemini-2.5-pro"}, [1, 2, 3, 4]))
    [series] = _list(
        client, f'metric.type = "{OUT}"', T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)
    )
    # (start, end]: the points ending 10:02 and 10:03, not the one ending 10:01
    assert _values(series) == [("10:03", 3), ("10:02", 2)]
    point = series.points[0]
    assert point.interval.start_time == T0 + timedelta(minutes=2)
    assert series.resource.type == "generativelanguage.googleapis.com/Location"
    assert dict(series.resource.labels) == {
        "resource_container": "gemini-prod",
        "location": "global",
    }
    assert series.metric.labels["model"] == "gemini-2.5-pro"
    assert series.metric_kind == monitoring_v3.TimeSeries.meta.fields["metric_kind"].enum.DELTA


def test_filters_select_projects_models_and_scope(world: StandIn, client: Any) -> None:
    for project in ("gemini-prod", "gemini-staging", "shared-infra"):
        for model in ("gemini-2.5-pro", "gemini-2.5-flash"):
            world.add_points(_points(OUT, project, {"model": model}, [10]))
    end = T0 + timedelta(minutes=1)
    everything = _list(client, f'metric.type = "{OUT}"', T0, end)
    assert {s.resource.labels["resource_container"] for s in everything} == {
        "gemini-prod",
        "gemini-staging",
    }  # shared-infra is outside guard-host's metrics scope
    chosen = _list(
        client,
        f'metric.type = "{OUT}" AND resource.type = "generativelanguage.googleapis.com/Location"'
        ' AND resource.labels.resource_container = one_of("gemini-staging", "nope")'
        ' AND metric.labels.model = "gemini-2.5-flash"',
        T0,
        end,
    )
    assert [
        (s.resource.labels["resource_container"], s.metric.labels["model"]) for s in chosen
    ] == [("gemini-staging", "gemini-2.5-flash")]


def test_alignment_and_reduction_keep_only_grouped_labels(world: StandIn, client: Any) -> None:
    world.add_points(_points(OUT, "gemini-prod", {"model": "gemini-2.5-pro"}, [1, 2, 3, 4]))
    world.add_points(
        _points(
            OUT,
            "gemini-prod",
            {"model": "gemini-2.5-flash", "thinking_enabled": "true"},
            [10, 20, 30, 40],
        )
    )
    end = T0 + timedelta(minutes=4)
    aligned = _list(client, f'metric.type = "{OUT}"', T0, end, _sum(120))
    by_model = {s.metric.labels["model"]: _values(s) for s in aligned}
    assert by_model == {
        "gemini-2.5-pro": [("10:04", 7), ("10:02", 3)],
        "gemini-2.5-flash": [("10:04", 70), ("10:02", 30)],
    }
    assert aligned[0].points[0].interval.start_time == T0 + timedelta(minutes=2)
    [total] = _list(
        client, f'metric.type = "{OUT}"', T0, end, _sum(60, "resource.labels.resource_container")
    )
    assert _values(total) == [("10:04", 44), ("10:03", 33), ("10:02", 22), ("10:01", 11)]
    assert dict(total.resource.labels) == {"resource_container": "gemini-prod"}
    assert dict(total.metric.labels) == {}
    grouped = _list(
        client,
        f'metric.type = "{OUT}"',
        T0,
        end,
        _sum(60, "resource.labels.resource_container", "metric.labels.model"),
    )
    assert sorted(dict(s.metric.labels)["model"] for s in grouped) == [
        "gemini-2.5-flash",
        "gemini-2.5-pro",
    ]
    assert all(set(s.metric.labels) == {"model"} for s in grouped)


def test_quota_usage_once_per_limit_name_and_limit_series(world: StandIn, client: Any) -> None:
    world.add_points(_points(f"{QUOTA}/usage", "gemini-prod", {"model": "gemini-2.5-pro"}, [500]))
    end = T0 + timedelta(minutes=1)
    usage = _list(client, f'metric.type = "{QUOTA}/usage"', T0, end)
    assert sorted(s.metric.labels["limit_name"] for s in usage) == [
        "GenerateContentPaidTierInputTokensPerModelPerDay",
        "GenerateContentPaidTierInputTokensPerModelPerMinute",
    ]
    assert [_values(s) for s in usage] == [[("10:01", 500)]] * 2
    limits = {
        s.metric.labels["limit_name"]: _values(s)
        for s in _list(client, f'metric.type = "{QUOTA}/limit"', T0, end)
    }
    assert limits["GenerateContentPaidTierInputTokensPerModelPerDay"] == [("10:01", 2**63 - 1)]
    assert limits["GenerateContentPaidTierInputTokensPerModelPerMinute"] == [("10:01", 2_000_000)]
    with pytest.raises(SeedError, match="metric"):
        world.add_points(_points(f"{QUOTA}/limit", "gemini-prod", {"model": "m"}, [1]))


def test_request_count_per_credential(world: StandIn, client: Any) -> None:
    world.add_points(_points(REQUESTS, "gemini-prod", {"credential_id": "apikey:k1"}, [5, 6]))
    world.add_points(
        _points(
            REQUESTS,
            "gemini-prod",
            {"credential_id": "apikey:k1", "response_code": "429", "response_code_class": "4xx"},
            [1, 1],
        )
    )
    world.add_points(
        _points(
            REQUESTS,
            "gemini-prod",
            {"credential_id": "apikey:k2", "service": "drive.googleapis.com"},
            [100, 100],
        )
    )
    series = _list(
        client,
        f'metric.type = "{REQUESTS}" AND resource.type = "consumed_api"'
        ' AND resource.labels.service = "generativelanguage.googleapis.com"',
        T0,
        T0 + timedelta(minutes=2),
        _sum(60, "resource.labels.project_id", "resource.labels.credential_id"),
    )
    assert [(dict(s.resource.labels), _values(s)) for s in series] == [
        ({"project_id": "gemini-prod", "credential_id": "apikey:k1"}, [("10:02", 7), ("10:01", 6)])
    ]


def test_paging_by_points_and_tokens_bound_to_the_query(world: StandIn, client: Any) -> None:
    for model in ("a", "b", "c", "d"):
        world.add_points(_points(OUT, "gemini-prod", {"model": f"gemini-{model}"}, [1, 2, 3]))
    end = T0 + timedelta(minutes=3)
    request = {
        "name": f"projects/{HOST}",
        "filter": f'metric.type = "{OUT}"',
        "interval": {"start_time": T0, "end_time": end},
        "page_size": 7,
    }
    pager = client.list_time_series(request=request)
    pages = list(pager.pages)
    assert [len(p.time_series) for p in pages] == [2, 2]  # 3 points a series, 7 a page
    assert sorted(s.metric.labels["model"] for p in pages for s in p.time_series) == [
        "gemini-a", "gemini-b", "gemini-c", "gemini-d",
    ]  # fmt: skip
    other = {**request, "filter": f'metric.type = "{OUT}" AND metric.labels.model = "gemini-a"'}
    with pytest.raises(gexc.InvalidArgument, match="page token"):
        client.list_time_series(
            request={**other, "page_token": pages[0].next_page_token}, retry=None
        )


def test_ingestion_delay_follows_the_clock(world: StandIn, client: Any) -> None:
    world.add_points(_points(OUT, "gemini-prod", {"model": "gemini-2.5-pro"}, [9]))
    world.add_points(_points(REQUESTS, "gemini-prod", {"credential_id": "apikey:k1"}, [9]))
    end = T0 + timedelta(minutes=10)

    def visible(metric: str, now: datetime) -> bool:
        world.set_clock(now)
        return bool(_list(client, f'metric.type = "{metric}"', T0, end))

    minute_end = T0 + timedelta(minutes=1)
    assert not visible(OUT, minute_end + timedelta(seconds=149))
    assert visible(OUT, minute_end + timedelta(seconds=150))
    assert not visible(REQUESTS, minute_end + timedelta(seconds=179))
    assert visible(REQUESTS, minute_end + timedelta(seconds=180))
    world.set_delay("serviceruntime.googleapis.com/", 1800)
    assert not visible(REQUESTS, minute_end + timedelta(seconds=1799))


def test_unknown_metric_is_not_found(world: StandIn, client: Any) -> None:
    bad = "generativelanguage.googleapis.com/generate_content_usage_input_token_count"
    with pytest.raises(gexc.NotFound, match=f'Cannot find metric\\(s\\) that match type = "{bad}"'):
        _list(client, f'metric.type = "{bad}"', T0, T0 + timedelta(minutes=1))


@pytest.mark.parametrize(
    "filter_",
    [
        f'metric.type = "{OUT}" OR metric.type = "{QUOTA}/usage"',
        f'metric.type = monitoring.regex.full_match("{OUT}")',
        f'metric.type = "{OUT}" AND metric.labels.model != "x"',
        'resource.labels.resource_container = "gemini-prod"',
    ],
)
def test_filters_outside_the_subset_are_invalid(world: StandIn, client: Any, filter_: str) -> None:
    with pytest.raises(gexc.InvalidArgument):
        _list(client, filter_, T0, T0 + timedelta(minutes=1))


def test_reducer_without_aligner_and_short_period_are_invalid(world: StandIn, client: Any) -> None:
    with pytest.raises(gexc.InvalidArgument, match="ALIGN_NONE"):
        _list(
            client,
            f'metric.type = "{OUT}"',
            T0,
            T0 + timedelta(minutes=1),
            {"cross_series_reducer": "REDUCE_SUM"},
        )
    with pytest.raises(gexc.InvalidArgument, match="60 seconds"):
        _list(client, f'metric.type = "{OUT}"', T0, T0 + timedelta(minutes=1), _sum(30))


def test_metric_descriptors_list_by_prefix(world: StandIn, client: Any) -> None:
    found = list(
        client.list_metric_descriptors(
            request={
                "name": f"projects/{HOST}",
                "filter": 'metric.type = starts_with("generativelanguage.googleapis.com/quota/")',
            }
        )
    )
    types = {d.type for d in found}
    assert f"{QUOTA}/usage" in types and f"{QUOTA}/limit" in types
    assert all(t.startswith("generativelanguage.googleapis.com/quota/") for t in types)
    usage = next(d for d in found if d.type == f"{QUOTA}/usage")
    assert {label.key for label in usage.labels} == {"limit_name", "method", "model"}
    assert usage.name == f"projects/{HOST}/metricDescriptors/{QUOTA}/usage"


def test_faults_and_call_log(world: StandIn, client: Any) -> None:
    world.add_fault("monitoring.projects.timeSeries.list", "503", calls=[1])
    world.add_fault("monitoring.projects.metricDescriptors.list", "429", calls=[1])
    with pytest.raises(gexc.ServiceUnavailable):
        _list(client, f'metric.type = "{OUT}"', T0, T0 + timedelta(minutes=1))
    assert _list(client, f'metric.type = "{OUT}"', T0, T0 + timedelta(minutes=1)) == []
    with pytest.raises(gexc.ResourceExhausted):
        list(client.list_metric_descriptors(request={"name": f"projects/{HOST}"}, retry=None))
    calls = world.calls("monitoring.projects.timeSeries.list")
    assert [(c["status"], c["fault"]) for c in calls] == [(503, "503"), (200, None)]
    assert calls[0]["path"] == "/google.monitoring.v3.MetricService/ListTimeSeries"
    world.add_fault("monitoring.projects.timeSeries.list", "timeout", calls=[1], delay=0.5)
    with pytest.raises(gexc.DeadlineExceeded):
        _list(client, f'metric.type = "{OUT}"', T0, T0 + timedelta(minutes=1), timeout=0.2)


def test_permission_and_number_containers(world: StandIn, client: Any) -> None:
    seed = world.state
    seed["monitoring"]["resource_container"] = "number"
    seed["projects"]["gemini-prod"]["granted_permissions"] = ["monitoring.metricDescriptors.list"]
    world.set_state(seed)
    world.add_points(_points(OUT, "gemini-staging", {"model": "gemini-2.5-pro"}, [1]))
    [series] = _list(client, f'metric.type = "{OUT}"', T0, T0 + timedelta(minutes=1))
    assert series.resource.labels["resource_container"] == "projects/210987654321"
    world.set_scope("gemini-prod", [])
    with pytest.raises(gexc.PermissionDenied, match=r"monitoring\.timeSeries\.list"):
        client.list_time_series(
            request={
                "name": "projects/gemini-prod",
                "filter": f'metric.type = "{OUT}"',
                "interval": {"end_time": T0},
            },
            retry=None,
        )


def _admin(world: StandIn, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{world.url}/_standin/{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_admin_api_points_scopes_delays_and_clock(world: StandIn, client: Any) -> None:
    point = {
        "metric": OUT,
        "project": "gemini-prod",
        "labels": {"model": "m1"},
        "minute": "2026-11-30T10:00:30Z",
        "value": 7,
    }
    assert _admin(
        world, "POST", "monitoring/points", {"points": [point, {**point, "add": True}]}
    ) == (200, {"written": 2})
    status, body = _admin(world, "GET", "monitoring/points?metric=" + OUT)
    assert status == 200 and [(p["minute"], p["value"]) for p in body["points"]] == [
        ("2026-11-30T10:00:00Z", 14)
    ]
    status, body = _admin(world, "POST", "monitoring/points", [point, {**point, "value": -1}])
    assert status == 400 and "points[1].value" in body["error"]["message"]
    assert len(world.points()) == 1  # all or none
    assert _admin(world, "POST", "monitoring/scopes", {"other-host": ["gemini-prod"]})[0] == 200
    assert world.world.monitoring.in_scope("other-host") == {"other-host", "gemini-prod"}
    assert (
        _admin(world, "POST", "monitoring/delays", {"generativelanguage.googleapis.com/": 0})[0]
        == 200
    )
    status, clock = _admin(world, "POST", "clock", {"now": "2026-11-30T10:01:00Z"})
    assert (status, clock["now"], clock["mode"]) == (200, "2026-11-30T10:01:00Z", "fixed")
    assert _list(client, f'metric.type = "{OUT}"', T0, T0 + timedelta(minutes=1)) != []  # delay 0
    status, clock = _admin(world, "POST", "clock", {"now": "2026-11-30T10:01:00Z", "running": True})
    assert clock["mode"] == "offset" and world.now() >= T0 + timedelta(minutes=1)
    assert _admin(world, "POST", "clock", {"later": 1})[0] == 400
    assert _admin(world, "DELETE", "clock")[1]["mode"] == "real"
    assert _admin(world, "DELETE", "monitoring/points") == (200, {})
    assert world.points() == []


def test_seeded_points_and_state_round_trip(standin: StandIn) -> None:
    seed = standin.state
    seed["monitoring"]["points"] = _points(OUT, "gemini-prod", {"model": "m"}, [3])
    standin.set_state(seed)
    again = standin.state["monitoring"]
    assert again["points"][0]["value"] == 3 and again["points"][0]["labels"]["model"] == "m"
    seed["monitoring"]["resource_container"] = "name"
    with pytest.raises(SeedError, match="resource_container"):
        standin.set_state(seed)
