"""Integration: the deployed entry point ``main.usage_watchdog`` under functions-framework, ticked
with Pub/Sub push bodies whose ``publishTime`` is simulated time, acting on the stand-in."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from local.services import Service
from standin import StandIn
from tests.watchdog.test_watchdog import GEMINI_KEYS, RATE
from tests.watchdog.world import T0, World, policy_doc


def push(url: str, now: datetime, message_id: str) -> int:
    body = {
        "message": {
            "data": base64.b64encode(b"tick").decode(),
            "messageId": message_id,
            "publishTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
        "subscription": "projects/demo-budget-guard/subscriptions/watchdog-ticks",
    }
    request = urllib.request.Request(
        url + "/projects/demo-budget-guard/topics/watchdog-ticks",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return int(response.status)


def wait_lines(function: Service, message: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = [r for r in function.json_logs() if r.get("message") == message]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(function.log_tail())


def test_ticks_through_functions_framework_revoke_a_leaking_key(
    monitoring_env: StandIn,
    function_server_factory: Callable[..., Service],
    unique_name: Callable[[str], str],
) -> None:
    w = World(monitoring_env, policy_doc([RATE], unique_name("wdf")))
    function = function_server_factory(
        {
            "BUDGET_GUARD_POLICY": json.dumps(w.doc),
            "BUDGET_GUARD_GCP_ENDPOINT": monitoring_env.url,
            "BUDGET_GUARD_MONITORING_ENDPOINT": monitoring_env.monitoring_endpoint,
            "BUDGET_GUARD_RETRY_DEADLINE": "2",
        },
        target="usage_watchdog",
    )
    w.burn(T0, 30, 150)
    for i, minutes in enumerate((5, 10)):
        now = T0 + timedelta(minutes=minutes, seconds=1)
        monitoring_env.set_clock(now)
        assert push(function.url, now, f"tick-{i}") == 200
    ticks = wait_lines(function, "watchdog tick", 2)
    assert [t["tick"] for t in ticks] == ["2026-11-30T10:05:01Z", "2026-11-30T10:10:01Z"]
    assert all(t["projects"] == 2 and t["minutes_read"] == 15 for t in ticks)
    estimates = wait_lines(function, "watchdog estimate", 4)
    assert {e["project"] for e in estimates} == {"gemini-prod", "shared-infra"}
    (crossed,) = [r for r in function.json_logs() if r["message"].startswith("budget threshold")]
    assert crossed["severity"] == "WARNING" and crossed["rule"] == "leak"
    assert GEMINI_KEYS.isdisjoint(w.live_keys())
    (record,) = w.records()
    assert record["source"] == "watchdog" and record["state"] == "done"
    # A redelivered tick (the same push again) is a duplicate, never a second action.
    assert push(function.url, T0 + timedelta(minutes=10, seconds=1), "tick-1") == 200
    wait_lines(function, "watchdog tick", 3)
    assert len(w.records()) == 1
    assert (
        len([r for r in function.json_logs() if r["message"].startswith("budget threshold")]) == 1
    )
