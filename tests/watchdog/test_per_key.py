"""A rate rule with revoke_offending_keys, evaluated per key by the watchdog tick: a burst on one
key revokes that key alone; the other key of the same project keeps working (stand-in Monitoring
through the real client, Firestore emulator, the real executor and API Keys calls)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from standin import StandIn
from tests.watchdog.world import OUT, PRO, REQUESTS, T0, TOKENS_PER_DOLLAR, World, policy_doc

BURST = "b7e41d08-52c3-4f96-a1d7-6e0c9f3a8b25"  # the standard Gemini key of gemini-prod
STEADY = "3f9c2b1e-7a4d-4e8b-9c61-2d5f8a0b7e13"  # the auth key, same project
RULE = {
    "name": "key-burst",
    "basis": "rate",
    "window_minutes": 10,
    "amount": 50,
    "actions": ["notify", "revoke_offending_keys"],
}


@pytest.fixture
def world(
    monitoring_env: StandIn, firestore_emulator: object, unique_name: Callable[[str], str]
) -> World:
    return World(monitoring_env, policy_doc([RULE], unique_name("pk")))


def _usage(w: World, first: int, minutes: int, dollars: float, per_key: dict[str, int]) -> None:
    points: list[dict[str, Any]] = []
    for i in range(first, first + minutes):
        minute = (T0 + timedelta(minutes=i)).isoformat()
        points.append(
            {
                "metric": OUT,
                "project": "gemini-prod",
                "labels": {"model": PRO},
                "minute": minute,
                "value": int(dollars * TOKENS_PER_DOLLAR),
            }
        )
        points += [
            {
                "metric": REQUESTS,
                "project": "gemini-prod",
                "labels": {"credential_id": f"apikey:{uid}"},
                "minute": minute,
                "value": n,
            }
            for uid, n in per_key.items()
        ]
    w.standin.add_points(points)


def test_a_burst_on_one_key_revokes_that_key_alone(world: World) -> None:
    # $10 a minute for the project: 95 % of the requests from one key ($9.50/min), 5 % from the
    # other ($0.50/min). Over a 10-minute window: $95 and $5 against a $50 bar per key.
    _usage(world, 0, 20, 10, {BURST: 570, STEADY: 30})
    for minute in (5, 10, 15, 20, 25):
        world.tick(T0 + timedelta(minutes=minute, seconds=2))
    assert world.live_keys().count(STEADY) == 1 and BURST not in world.live_keys()
    (record,) = world.records()  # one crossing for the burst key, once for the whole burst
    assert record["subject"] == f"key:{BURST}" and record["rule"] == "key-burst"
    entry = record["actions"]["revoke_offending_keys"]
    assert entry["status"] == "done"
    assert entry["progress"]["deleted"] == [f"projects/123456789012/locations/global/keys/{BURST}"]
    assert f"API key {BURST}" in record["reason"] and "request(s) in 10 min" in record["reason"]


def test_spend_spread_over_keys_revokes_none(world: World) -> None:
    # $80 in a 10-minute window, over the $50 bar for the project, but half of it per key:
    # $40 each, under the bar, so no key is revoked (the rule is evaluated per key).
    _usage(world, 0, 20, 8, {BURST: 300, STEADY: 300})
    for minute in (5, 10, 15, 20):
        world.tick(T0 + timedelta(minutes=minute, seconds=2))
    assert world.records() == []
    assert {BURST, STEADY} <= set(world.live_keys())


def test_restore_undeletes_the_key_a_per_key_rate_revoked(world: World, tmp_path: Any) -> None:
    import json

    from functions.cli import main

    _usage(world, 0, 20, 10, {BURST: 570, STEADY: 30})
    for minute in (5, 10, 15):
        world.tick(T0 + timedelta(minutes=minute, seconds=2))
    assert BURST not in world.live_keys()
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(world.doc))
    assert main(["restore", "--policy", str(policy), "--project", "gemini-prod", "--yes"]) == 0
    assert {BURST, STEADY} <= set(world.live_keys())
