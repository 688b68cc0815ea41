"""One short scenario end to end: the real guard (in-process handlers, Firestore ledger on the
emulator, actions through the client libraries to the stand-in) against simulated traffic, and
the same numbers on a second run. The full scenarios run with ``make simulate``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.services import Service
from sim.config import parse_config
from sim.run import Result, run
from sim.scenario import ScenarioError, parse_scenario
from standin import StandIn

SCENARIO: dict[str, Any] = {
    "name": "short-leak",
    "title": "A short leak",
    "start": "2026-11-12T01:00:00Z",
    "minutes": 60,
    "seed": 5,
    "jitter": 0.1,
    "budget": {"amount": 50, "thresholds": [0.5, 0.9, 1.0]},
    "billing": {"lag_minutes": 10, "cadence_minutes": [5, 8]},
    "keys": {
        "leaked": {"displayName": "leaked"},
        "app": {"restrictions": {"apiTargets": [{"service": "generativelanguage.googleapis.com"}]}},
    },
    "traffic": [
        {"who": "legit", "key": "app", "model": "gemini-2.5-flash", "input_tokens": 1000,
         "output_tokens": 200, "from": 0, "to": 60, "rpm": 2},
        {"who": "attacker", "key": "leaked", "model": "gemini-3-pro-image-preview",
         "input_tokens": 500, "output_tokens": 1290, "from": 5, "to": 60, "rpm": 100},
    ],
}  # fmt: skip
RULES = [
    {"name": "revoke", "threshold": 0.9, "basis": "actual", "actions": ["notify", "revoke_keys"]},
]
BUDGET_ONLY = {"name": "budget", "title": "budget alerts", "policy": {"rules": RULES}}


@pytest.fixture
def sim_standin(emulators: dict[str, Service]) -> Iterator[StandIn]:
    with StandIn() as standin:
        yield standin


def _numbers(result: Result) -> tuple[Any, ...]:
    return (result.leak_cost, result.first_brake, result.to_last_billed, result.held,
            result.legit_refused, [(b.minute, b.change) for b in result.brakes])  # fmt: skip


def test_budget_alerts_stop_the_leak_after_billing_s_lag_and_the_same_twice(
    sim_standin: StandIn,
) -> None:
    scenario, config = parse_scenario(SCENARIO), parse_config(BUDGET_ONLY)
    unguarded = run(scenario, None, sim_standin)
    first = run(scenario, config, sim_standin)
    # ~$15.6/min: 90 % of $50 is reached in the 3rd minute, reported 10 min later at the next
    # notification (5-8 min apart): the brake lands 13-21 minutes into the leak.
    assert 13 <= (first.first_brake or 0) <= 21
    assert first.held == "key deleted"  # every later attacker request: API_KEY_INVALID
    assert first.to_last_billed == first.first_brake
    assert first.leak_cost < unguarded.leak_cost / 2
    assert first.legit_refused > 0  # revoke_keys takes the app's key too
    assert {b.change for b in first.brakes} == {"key deleted (leaked)", "key deleted (app)"}
    assert first.deliveries["budget"] >= 5
    again = run(scenario, config, sim_standin)
    assert _numbers(again) == _numbers(first)


def test_the_watchdog_at_a_one_minute_tick_stops_it_within_minutes(sim_standin: StandIn) -> None:
    rules = [*RULES, {"name": "burst", "basis": "rate", "window_minutes": 60,
                      "amount": "20% of budget", "actions": ["notify", "revoke_keys"]}]  # fmt: skip
    config = parse_config(
        {
            "name": "wd",
            "title": "watchdog",
            "tick_minutes": 1,
            "requires": ["watchdog"],
            "policy": {"rules": rules, "watchdog": {}},
        }
    )
    result = run(parse_scenario(SCENARIO), config, sim_standin)
    # $10 (20 % of $50) in the window: the first visible minute (ingestion 150 s) crosses it.
    assert result.brakes and result.brakes[0].source == "watchdog"
    assert (result.first_brake or 99) <= 5
    assert result.held == "key deleted"


def test_a_bad_scenario_names_the_field() -> None:
    bad = {**SCENARIO, "traffic": [{**SCENARIO["traffic"][0], "key": "nope"}]}
    with pytest.raises(ScenarioError, match=r"traffic\[0\]\.key"):
        parse_scenario(bad)
