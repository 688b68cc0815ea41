"""The stand-in's Gemini API through a real HTTP client: what it refuses, as Google answers it,
and that the bulk path applies the same rules (a quota cuts a batch mid-minute)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from standin import StandIn
from standin.gemini import Shape, Usage

KEY = "AIzaSyFAKE-sim-test-key-000000000000001"
BLOCKED = "AIzaSyFAKE-sim-test-key-maps-only-00001"
NOW = datetime(2026, 11, 12, 1, 0, tzinfo=UTC)


def _world(**project: Any) -> dict[str, Any]:
    base = {
        "number": "123456789012",
        "billing_account": "billingAccounts/01D4EE-079462-DFD6EC",
        "services": {"generativelanguage.googleapis.com": "ENABLED"},
        "keys": [
            {"uid": "u-1", "keyString": KEY, "displayName": "app"},
            {"uid": "u-2", "keyString": BLOCKED, "displayName": "maps",
             "restrictions": {"apiTargets": [{"service": "maps-backend.googleapis.com"}]}},
        ],
    }  # fmt: skip
    return {"projects": {"gemini-prod": {**base, **project}}}


@pytest.fixture
def gemini() -> Iterator[StandIn]:
    with StandIn(_world()) as standin:
        standin.set_clock(NOW)
        yield standin


def _call(standin: StandIn, key: str, model: str = "gemini-2.5-flash", **kw: Any) -> Any:
    body = {
        "contents": [{"parts": [{"text": "x" * 400}]}],
        "generationConfig": {"maxOutputTokens": 50},
    }
    return requests.post(
        f"{standin.url}/v1beta/models/{model}:generateContent",
        json=body,
        headers={"x-goog-api-key": key} if key else {},
        timeout=10,
        **kw,
    )


def _reason(response: Any) -> str:
    details = response.json()["error"]["details"]
    for detail in details:
        if "reason" in detail:
            return str(detail["reason"])
        for violation in detail.get("violations", ()):
            return str(violation["quotaId"])
    raise AssertionError(details)


def test_an_accepted_call_counts_its_tokens(gemini: StandIn) -> None:
    seen: list[Usage] = []
    gemini.world.gemini.sinks.append(seen.append)
    response = _call(gemini, KEY)
    assert response.status_code == 200
    assert response.json()["usageMetadata"] == {
        "promptTokenCount": 100, "candidatesTokenCount": 50, "totalTokenCount": 150
    }  # fmt: skip
    assert [(u.key_uid, u.code, u.requests, u.input_tokens, u.minute) for u in seen] == [
        ("u-1", 200, 1, 100, NOW)
    ]
    by_query = requests.post(
        f"{gemini.url}/v1beta/models/gemini-2.5-flash:generateContent?key={KEY}",
        json={"contents": [{"parts": [{"text": "hi"}]}]},
        timeout=10,
    )
    assert by_query.status_code == 200


def test_unknown_and_deleted_keys_are_invalid(gemini: StandIn) -> None:
    response = _call(gemini, "AIzaSy-not-a-key")
    assert (response.status_code, response.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")
    assert _reason(response) == "API_KEY_INVALID"
    with gemini.world.lock:
        gemini.world.projects["gemini-prod"].keys[0].delete_time = "2026-11-12T00:59:00Z"
    assert _reason(_call(gemini, KEY)) == "API_KEY_INVALID"


def test_a_key_restricted_to_another_api_is_blocked(gemini: StandIn) -> None:
    response = _call(gemini, BLOCKED)
    assert (response.status_code, response.json()["error"]["status"]) == (403, "PERMISSION_DENIED")
    assert _reason(response) == "API_KEY_SERVICE_BLOCKED"


def test_a_disabled_service_refuses() -> None:
    world = _world(services={"generativelanguage.googleapis.com": "DISABLED"})
    with StandIn(world) as standin:
        response = _call(standin, KEY)
    assert response.status_code == 403
    assert _reason(response) == "SERVICE_DISABLED"
    assert "has not been used in project 123456789012" in response.json()["error"]["message"]


def test_without_billing_a_paid_model_gets_a_zero_free_tier_quota() -> None:
    with StandIn(_world(billing_account="")) as standin:
        paid = _call(standin, KEY, model="gemini-3-pro-image-preview")
        free = _call(standin, KEY, model="gemini-2.5-flash")
    assert paid.status_code == 429 and paid.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    violation = paid.json()["error"]["details"][0]["violations"][0]
    assert violation["quotaId"].endswith("-FreeTier") and violation["quotaValue"] == "0"
    assert free.status_code == 200  # a free model still answers on the free tier


def test_google_api_core_maps_the_refusals_like_google_s(gemini: StandIn) -> None:
    from google.api_core import exceptions as gexc

    error = gexc.from_http_response(_call(gemini, BLOCKED))  # type: ignore[no-untyped-call]
    assert isinstance(error, gexc.Forbidden) and error.reason == "API_KEY_SERVICE_BLOCKED"


def test_the_bulk_path_is_cut_mid_minute_by_the_quota_then_reset_next_minute(
    gemini: StandIn,
) -> None:
    gemini.world.gemini.quotas.set(
        "gemini-prod", "GenerateRequestsPerMinutePerProjectPerModel", "*", 1000
    )
    shape = Shape("gemini-2.5-flash", 100, 50)
    assert _call(gemini, KEY).status_code == 200  # one over HTTP counts against the minute
    batch = gemini.traffic(KEY, shape, 1500)
    assert (batch.accepted, batch.refused, batch.reason) == (
        999, 501, "GenerateRequestsPerMinutePerProjectPerModel"
    )  # fmt: skip
    over = _call(gemini, KEY)
    assert (
        over.status_code == 429
        and over.json()["error"]["details"][0]["violations"][0]["quotaValue"] == "1000"
    )
    gemini.set_clock(NOW + timedelta(minutes=1))  # the shared clock: a new quota minute
    assert gemini.traffic(KEY, shape, 1000).accepted == 1000


def test_the_admin_traffic_endpoint_answers_as_the_python_api(gemini: StandIn) -> None:
    body = {"key": BLOCKED, "model": "gemini-2.5-flash", "input_tokens": 10, "output_tokens": 5,
            "requests": 3}  # fmt: skip
    answer = requests.post(f"{gemini.url}/_standin/gemini/traffic", json=body, timeout=10).json()
    assert (answer["accepted"], answer["refused"]) == (0, 3)
    assert answer["error"]["error"]["details"][0]["reason"] == "API_KEY_SERVICE_BLOCKED"
