"""Redelivery storm: a month of budget notifications for three budgets (five guarded projects),
each delivered several times, shuffled, to 8 guard processes sharing one ledger and one stand-in.

Whatever the order and however often a message arrives, each crossing acts once: one billing
unlink per project, one replacement per API key, one service disable per project, one event per
crossing, one complete audit record per crossing.
"""

from __future__ import annotations

import collections
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.actions.keys_api import REPLACES
from standin.server import StandIn
from tests.reliability import worlds
from tests.reliability.harness import (
    Delivery,
    GuardProcess,
    deliver_until_acked,
    events_topic,
    ledger_records,
    pull_events,
    record_figures,
    soak,
)
from tests.reliability.secrets_scan import Evidence
from tests.reliability.worlds import (
    BILLING_PUT,
    BUDGET,
    BUDGET_2,
    BUDGET_3,
    KEYS_CREATE,
    KEYS_DELETE,
    SECRET_ADD,
    SERVICE_DISABLE,
)

PROCESSES = 8
PERIOD = datetime(2026, 10, 1, 7, tzinfo=UTC)
MESSAGES_PER_DAY = 4
DAYS = 30
DELIVERIES = 5000 if soak() else 1200

RULES = [
    {"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]},
    {
        "name": "forecast",
        "threshold": 1.0,
        "basis": "forecast",
        "actions": ["notify", "rotate_keys"],
    },
    {
        "name": "service",
        "threshold": 0.9,
        "basis": "actual",
        "actions": ["notify", "disable_service"],
    },
    {"name": "stop", "threshold": 1.0, "basis": "actual", "actions": ["notify", "disable_billing"]},
]
BUDGETS = {
    BUDGET: {"projects": ["gemini-prod"], "currency": "USD"},
    BUDGET_2: {"projects": ["gemini-staging", "shared-infra"]},
    BUDGET_3: {"projects": ["gemini-batch", "gemini-eval"]},
}
PROJECTS = [p for b in BUDGETS.values() for p in b["projects"]]
KEYED = {"gemini-prod": 2, "gemini-staging": 1, "gemini-batch": 2, "gemini-eval": 1}


def spend(budget_id: str, day: float) -> tuple[float, float | None]:
    """(cost, forecastThresholdExceeded) on ``day`` of the month for each budget's story."""
    if budget_id == BUDGET:  # steady growth, over budget in the last week
        cost = 1250 * (day / DAYS) ** 1.2
        forecast = 1.0 if day >= 8 else None
    elif budget_id == BUDGET_2:  # slow, crosses 100 % on the last days
        cost = 1100 * (day / DAYS) ** 1.5
        forecast = 1.0 if day >= 20 else None
    else:  # a leaked key on day 15: spend jumps past the budget
        cost = 80 * day / DAYS + (1500 if day >= 15 else 0)
        forecast = 1.2 if day >= 15 else None
    return round(cost, 2), forecast


def month_of_messages() -> list[dict[str, Any]]:
    """Every notification Cloud Billing would send for the month, 4 a day per budget."""
    messages = []
    for budget_id in BUDGETS:
        for i in range(DAYS * MESSAGES_PER_DAY):
            day = (i + 1) / MESSAGES_PER_DAY
            cost, forecast = spend(budget_id, day)
            ratio = cost / 1000
            crossed = [t for t in (0.5, 0.9, 1.0) if ratio >= t]
            alert = worlds.alert(
                cost,
                budget_id=budget_id,
                period=PERIOD.strftime("%Y-%m-%dT%H:%M:%SZ"),
                alert_threshold=crossed[-1] if crossed else None,
                forecast_threshold=forecast,
            )
            published = (PERIOD + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            message_id = f"{budget_id[:8]}-{i:04d}"
            messages.append(alert.message(message_id, published))
    return messages


@pytest.fixture(scope="module")
def storm_guards(
    start_guards: Callable[..., list[GuardProcess]], rel_standin: StandIn
) -> tuple[list[GuardProcess], str, str]:
    database = worlds.unique("storm")
    topic, subscription = events_topic(worlds.unique("storm-events"))
    doc = worlds.policy(
        database,
        rules=RULES,
        budgets=BUDGETS,
        events_topic=topic,
        secret=worlds.PER_PROJECT_SECRET,
    )
    # Generous per-request timeout: 8 processes share 2 cores here; a timeout would be handled
    # (the faults module proves it) but would blur the figures.
    guards = start_guards(
        doc, PROCESSES, BUDGET_GUARD_TIMEOUT="15", BUDGET_GUARD_RETRY_DEADLINE="5"
    )
    return guards, database, subscription


def test_storm_acts_once_per_crossing(
    storm_guards: tuple[list[GuardProcess], str, str],
    world: Callable[[Any], StandIn],
    evidence: Evidence,
) -> None:
    guards, database, subscription = storm_guards
    standin = world(worlds.storm_seed())
    rng = random.Random(20261001)
    messages = month_of_messages()
    plan = list(messages) + rng.choices(messages, k=DELIVERIES - len(messages))
    rng.shuffle(plan)  # out of order, and redeliveries of one message id anywhere in the run
    deliveries = [Delivery(msg, via="ce" if i % 2 else "push") for i, msg in enumerate(plan)]
    urls = [g.url for g in guards]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=24) as pool:
        list(
            pool.map(
                lambda d: deliver_until_acked(urls, d, rng=random.Random(id(d)), max_attempts=200),
                deliveries,
            )
        )
    wall = time.monotonic() - started

    state = standin.state
    calls = collections.Counter((c["method"], c["status"]) for c in standin.calls())
    records = ledger_records(database)
    events = pull_events(subscription)
    logs = [line for g in guards for line in g.logs()]
    evidence.add_records("storm", records)
    evidence.add_events("storm", events)

    # Billing: one unlink per project (each project's "stop" crossing), nothing else.
    assert calls[(BILLING_PUT, 200)] == len(PROJECTS)
    assert {p: state["projects"][p]["billing_account"] for p in PROJECTS} == dict.fromkeys(
        PROJECTS, ""
    )
    # Keys: exactly one replacement per selected key, made by one create each.
    made = worlds.replacements(state)
    assert sum(KEYED.values()) == len(made)
    assert all(len(new) == 1 for new in made.values()), made
    assert calls[(KEYS_CREATE, 200)] == sum(KEYED.values())
    assert calls[(KEYS_DELETE, 200)] == sum(KEYED.values())
    # One version of each project's own secret, holding exactly that project's new keys.
    assert calls[(SECRET_ADD, 200)] == len(KEYED)
    for project in KEYED:
        live = {
            k["displayName"]: k["keyString"]
            for k in state["projects"][project]["keys"]
            if k["deleteTime"] is None and REPLACES in (k.get("annotations") or {})
        }
        secret = worlds.PER_PROJECT_SECRET.format(project=project)
        assert worlds.secret_payloads(state, secret) == [live], project
    # Service: disabled once per project.
    assert calls[(SERVICE_DISABLE, 200)] == len(PROJECTS)
    assert all(state["projects"][p]["services"][worlds.GEMINI] == "DISABLED" for p in PROJECTS)
    # Every call the stand-in answered succeeded: no fault was injected.
    assert {status for (_, status) in calls} == {200}
    # One event and one complete audit record per crossing.
    crossings = {(r["budget_id"], r["project"], r["rule"]) for r in records}
    assert len(records) == len(crossings) == len(RULES) * len(PROJECTS)
    event_keys = [(e["data"]["budget_id"], e["data"]["project"], e["data"]["rule"]) for e in events]
    assert sorted(event_keys) == sorted(crossings), "one event per crossing"
    for record in records:
        assert record["state"] == "done", record
        assert record["lease_owner"] is None
        statuses = {name: a["status"] for name, a in record["actions"].items()}
        rule = next(r for r in RULES if r["name"] == record["rule"])
        assert list(statuses) == rule["actions"] or set(statuses) == set(rule["actions"])
        assert set(statuses.values()) <= {"done", "noop"}, record
        if record["rule"] == "forecast":
            expected = "noop" if record["project"] == "shared-infra" else "done"
            assert statuses["rotate_keys"] == expected
    assert not [line for line in logs if line.get("severity") == "ERROR"]

    redelivered = sum(len(d.statuses) - 1 for d in deliveries)
    duplicates = sum(1 for line in logs if line.get("message", "").startswith("duplicate"))
    mutations = sum(n for (method, status), n in calls.items() if method in worlds.MUTATING)
    record_figures(
        "storm",
        command="pytest tests/reliability/test_storm.py",
        processes=PROCESSES,
        distinct_messages=len(messages),
        deliveries_planned=len(deliveries),
        deliveries_posted=sum(len(d.statuses) for d in deliveries),
        redeliveries_after_5xx=redelivered,
        via_cloudevent=sum(1 for d in deliveries if d.via == "ce"),
        via_push=sum(1 for d in deliveries if d.via == "push"),
        crossings=len(records),
        duplicate_crossings_skipped=duplicates,
        api_calls=sum(calls.values()),
        mutating_api_calls=mutations,
        billing_unlinks=calls[(BILLING_PUT, 200)],
        keys_replaced=sum(len(v) for v in made.values()),
        events_published=len(events),
        actions_done_twice=0,
        wall_seconds=round(wall, 1),
    )
