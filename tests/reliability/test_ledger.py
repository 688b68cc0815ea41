"""The ledger itself unreachable: a fault-injecting TCP proxy between the guard processes and the
Firestore emulator (``FIRESTORE_EMULATOR_HOST`` points at the proxy) resets, or swallows the
answers of, the guard's Firestore connections.

Decision (docs/RELIABILITY.md): with no ledger, the brakes declared ``idempotent and mutates``
(disable_billing, disable_service, revoke_keys, rotate_keys) run without a claim, ``notify`` waits,
one ERROR line per crossing says what ran and what waits, and the delivery fails (500) so Pub/Sub
redelivers it; once the ledger answers again the crossing is claimed and completed. Rotation stays
single: its replacement key ids derive from the crossing and the old key, and replacements are
never selected.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from standin.server import StandIn
from tests.reliability import worlds
from tests.reliability.harness import (
    PROJECT,
    GuardProcess,
    cloud_event_request,
    events_topic,
    ledger_records,
    post,
    pull_events,
    record_figures,
)
from tests.reliability.proxy import FaultProxy
from tests.reliability.secrets_scan import Evidence
from tests.reliability.worlds import BILLING_PUT, KEYS_CREATE, KEYS_DELETE

LEDGER_TIMEOUT = 2.0
RULES = [
    {"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]},
    {"name": "brake", "threshold": 1.0, "basis": "actual", "actions": worlds.ALL_ACTIONS},
]
OLD_KEYS = {"Gemini API Key", "Gemini backend (standard key)"}
_figures: collections.Counter[str] = collections.Counter()


@dataclass
class Env:
    guards: list[GuardProcess]
    proxy: FaultProxy
    database: str
    subscription: str
    standin: StandIn
    evidence: Evidence


@dataclass
class Shared:
    proxy: FaultProxy
    database: str
    topic: str
    subscription: str


@pytest.fixture(scope="module")
def shared(emulators: dict[str, Any], evidence: Evidence) -> Iterator[Shared]:
    proxy = FaultProxy(emulators["firestore"].port).start()
    database = worlds.unique("ledger-down")
    topic, subscription = events_topic(worlds.unique("ledger-events"))
    yield Shared(proxy, database, topic, subscription)
    proxy.stop()
    evidence.add_records("ledger-down", ledger_records(database))


@pytest.fixture
def env(
    shared: Shared,
    start_guards: Callable[..., list[GuardProcess]],
    rel_standin: StandIn,
    evidence: Evidence,
) -> Env:
    """Two fresh guard processes behind the proxy: a gRPC channel that saw an outage reconnects
    with a growing backoff, which would blur the next test (see RELIABILITY.md)."""
    shared.proxy.set_mode("pass")
    guards = start_guards(
        worlds.policy(shared.database, rules=RULES, events_topic=shared.topic),
        2,
        FIRESTORE_EMULATOR_HOST=shared.proxy.host,
        BUDGET_GUARD_LEDGER_TIMEOUT=str(LEDGER_TIMEOUT),
        BUDGET_GUARD_TIMEOUT="2",
        BUDGET_GUARD_RETRY_DEADLINE="1",
    )
    pull_events(shared.subscription)
    return Env(guards, shared.proxy, shared.database, shared.subscription, rel_standin, evidence)


def message(period: str, n: int = 0) -> dict[str, Any]:
    published = period.replace("-01T08", "-15T08").replace("Z", ".000Z")
    return worlds.alert(1300 + n, period=period, alert_threshold=1.0).message(
        f"ledger-{period[:7]}-{n}", published
    )


def deliver(
    guard: GuardProcess, msg: dict[str, Any]
) -> tuple[int | None, list[dict[str, Any]], float]:
    guard.mark()
    answer = post(guard.url, cloud_event_request(msg), timeout=120)
    _figures["deliveries"] += 1
    lines = [json.loads(x) for x in guard.new_lines() if x.startswith("{")]
    return answer.status, lines, answer.seconds


def until_acked(guard: GuardProcess, msg: dict[str, Any], limit: int = 20) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for _ in range(limit):
        status, new, _ = deliver(guard, msg)
        lines += new
        if status is not None and status < 300:
            return lines
        _figures["redeliveries_after_5xx"] += 1
        time.sleep(0.3)
    raise AssertionError("not acknowledged")


def unavailable_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        x
        for x in lines
        if x["severity"] == "ERROR" and x["message"].startswith("ledger unavailable")
    ]


def assert_rotated_once(standin: StandIn) -> dict[str, Any]:
    project = standin.state["projects"]["gemini-prod"]
    made = worlds.replacements(standin.state, "gemini-prod")
    assert len(made) == 2 and all(len(v) == 1 for v in made.values()), made
    assert {k["displayName"] for k in project["keys"] if k["deleteTime"]} == OLD_KEYS
    assert len(project["keys"]) == 5
    assert [c["status"] for c in standin.calls(KEYS_CREATE)].count(200) == 2
    versions = worlds.secret_payloads(standin.state)
    live = {k["displayName"]: k["keyString"] for k in project["keys"] if k["deleteTime"] is None}
    assert versions and all(v == {n: live[n] for n in OLD_KEYS} for v in versions)
    return project


def test_ledger_down_brakes_run_once_notify_waits_then_completes(env: Env) -> None:
    standin = env.standin
    standin.set_state(worlds.demo_seed())
    period = "2030-01-01T08:00:00Z"
    env.proxy.set_mode("reset")
    _figures["ledger outages"] += 1

    # Two instances get the same crossing at once, with no ledger to arbitrate.
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda g: deliver(g, message(period)), env.guards))
    for status, lines, seconds in results:
        assert status == 500  # Pub/Sub will redeliver
        errors = unavailable_lines(lines)
        # one ERROR per crossing (they run concurrently, the strongest brake first)
        assert sorted(e["rule"] for e in errors) == ["brake", "warn"]
        brake = next(e for e in errors if e["rule"] == "brake")
        assert brake["waiting"] == ["notify"]
        assert {r.split(":")[0] for r in brake["ran"]} == {
            "rotate_keys",
            "disable_service",
            "disable_billing",
        }
        # The ledger was waited for once per delivery, not once per crossing.
        first, last = (datetime.fromisoformat(e["time"]) for e in (errors[0], errors[-1]))
        assert (last - first).total_seconds() < LEDGER_TIMEOUT, errors
        assert seconds < 3 * LEDGER_TIMEOUT + 10
    project = assert_rotated_once(standin)
    assert project["billing_account"] == ""
    assert project["services"][worlds.GEMINI] == "DISABLED"
    unlinks_while_down = [c["status"] for c in standin.calls(BILLING_PUT)].count(200)
    assert unlinks_while_down in (1, 2)  # both instances may unlink: repeating it changes nothing
    assert pull_events(env.subscription) == []  # notify is not idempotent: it waited

    # Redelivered while the ledger is still down: nothing is done again.
    status, lines, _ = deliver(env.guards[0], message(period))
    assert status == 500 and len(unavailable_lines(lines)) == 2
    assert_rotated_once(standin)
    assert [c["status"] for c in standin.calls(BILLING_PUT)].count(200) == unlinks_while_down

    env.proxy.set_mode("pass")
    until_acked(env.guards[1], message(period))
    assert_rotated_once(standin)
    assert [c["status"] for c in standin.calls(BILLING_PUT)].count(200) == unlinks_while_down
    events = pull_events(env.subscription)
    env.evidence.add_events("ledger-down", events)
    assert sorted(e["data"]["rule"] for e in events) == ["brake", "warn"]  # once each, now
    records = {r["rule"]: r for r in ledger_records(env.database) if r["period"] == period}
    assert set(records) == {"warn", "brake"}
    for record in records.values():
        assert record["state"] == "done"
        assert record["actions"]["notify"]["status"] == "done"
    statuses = {k: v["status"] for k, v in records["brake"]["actions"].items()}
    # What ran without the ledger is found done: the record says so (its audit is the ERROR line).
    assert statuses == {
        "notify": "done",
        "rotate_keys": "noop",
        "disable_service": "noop",
        "disable_billing": "noop",
    }
    _figures["actions run without the ledger"] += 3


def test_ledger_down_interrupted_rotation_hands_every_new_key_to_the_secret(env: Env) -> None:
    """Without the ledger, an attempt interrupted between two deletes leaves one old key; the
    next attempt selects only that one. The secret's latest version must still hold both new
    key strings: its users read the latest version."""
    standin = env.standin
    standin.set_state(worlds.demo_seed())
    period = "2030-05-01T08:00:00Z"
    env.proxy.set_mode("reset")
    _figures["ledger outages"] += 1
    standin.add_fault(KEYS_DELETE, "503", calls=list(range(2, 50)))  # the second delete fails
    status, lines, _ = deliver(env.guards[0], message(period))
    assert status == 500
    assert any("rotate_keys: failed" in r for e in unavailable_lines(lines) for r in e["ran"])
    standin.clear_faults()
    status, lines, _ = deliver(env.guards[0], message(period))
    assert status == 500  # the ledger is still down
    project = assert_rotated_once(standin)
    live = {k["displayName"]: k["keyString"] for k in project["keys"] if k["deleteTime"] is None}
    assert worlds.secret_payloads(standin.state)[-1] == {n: live[n] for n in OLD_KEYS}
    env.proxy.set_mode("pass")
    until_acked(env.guards[1], message(period))
    assert_rotated_once(standin)


def _expire_lease(database: str, doc_id: str) -> None:
    """What LEASE_SECONDS of waiting would do: the holder's lease is over."""
    from google.cloud import firestore

    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    client = firestore.Client(project=PROJECT, database=database)
    client.collection("crossings").document(doc_id).update({"lease_until": past})


def test_ledger_lost_mid_crossing(env: Env) -> None:
    standin = env.standin
    standin.set_state(worlds.demo_seed())
    period = "2030-02-01T08:00:00Z"
    standin.add_fault(KEYS_CREATE, "slow", calls=[1], delay=1.0)
    _figures["ledger outages"] += 1
    guard = env.guards[0]
    result: list[Any] = []
    delivery = threading.Thread(target=lambda: result.append(deliver(guard, message(period))))
    delivery.start()
    deadline = time.monotonic() + 30
    while not standin.calls(KEYS_CREATE):  # claimed, notified, rotating: cut the ledger now
        assert time.monotonic() < deadline
        time.sleep(0.01)
    env.proxy.set_mode("reset")
    delivery.join()
    ((status, lines, _),) = result
    assert status == 500
    errors = {e["rule"]: e for e in unavailable_lines(lines)}  # firings run concurrently
    assert set(errors) in ({"brake", "warn"}, {"brake"})
    assert "notify" in errors["brake"]["waiting"]
    project = assert_rotated_once(standin)
    assert project["billing_account"] == "" and project["services"][worlds.GEMINI] == "DISABLED"

    env.proxy.set_mode("pass")
    # The interrupted delivery's lease still holds the crossing: redeliveries are refused (500)
    # until it lapses (LEASE_SECONDS); the brakes ran already. Let the lease lapse now.
    # Firings run concurrently, so the warn crossing may have been claimed before the cut too.
    status, _, _ = deliver(env.guards[1], message(period))
    held = [
        r
        for r in ledger_records(env.database)
        if r["period"] == period and r["state"] == "open" and r["lease_owner"]
    ]
    if status != 200:
        assert "brake" in {r["rule"] for r in held}
        for record in held:
            _expire_lease(env.database, record["_id"])
        until_acked(env.guards[1], message(period))
    assert_rotated_once(standin)
    assert [c["status"] for c in standin.calls(BILLING_PUT)].count(200) == 1
    events = pull_events(env.subscription)
    env.evidence.add_events("ledger-lost", events)
    assert sorted(e["data"]["rule"] for e in events) == ["brake", "warn"]  # notify not repeated
    brake = next(
        r for r in ledger_records(env.database) if r["period"] == period and r["rule"] == "brake"
    )
    assert brake["state"] == "done"
    assert brake["actions"]["notify"]["attempts"] == 1
    assert brake["actions"]["rotate_keys"]["status"] == "done"
    assert len(brake["actions"]["rotate_keys"]["progress"]["replacements"]) == 2
    _figures["actions run without the ledger"] += 3


def test_ledger_create_answered_late_is_still_ours(env: Env) -> None:
    """The claim's create reaches Firestore but its answer is lost (connection dropped): the
    client's retry finds the record it made itself and must act, not wait LEASE_SECONDS."""
    standin = env.standin
    standin.set_state(worlds.demo_seed())
    period = "2030-03-01T08:00:00Z"
    guard = env.guards[0]
    # A crossing of another period first: the guard's Firestore connection is up and in use.
    warm = "2030-04-01T08:00:00Z"
    warm_msg = worlds.alert(600, period=warm).message("warm", warm.replace("-01T08", "-15T08"))
    until_acked(guard, warm_msg)
    pull_events(env.subscription)
    _figures["ledger outages"] += 1
    env.proxy.set_mode("deaf")
    result: list[Any] = []
    delivery = threading.Thread(target=lambda: result.append(deliver(guard, message(period))))
    delivery.start()
    deadline = time.monotonic() + 30
    while not [r for r in ledger_records(env.database) if r["period"] == period]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    env.proxy.set_mode("reset")  # the connection drops: the create's answer never arrives
    env.proxy.set_mode("pass")
    delivery.join()
    ((status, lines, _),) = result
    assert status == 200, lines
    assert not [x for x in lines if x["severity"] == "ERROR"]
    assert_rotated_once(standin)
    records = [r for r in ledger_records(env.database) if r["period"] == period]
    assert all(r["state"] == "done" and r["attempts"] == 1 for r in records)
    events = pull_events(env.subscription)
    env.evidence.add_events("ledger-late", events)
    assert sorted(e["data"]["rule"] for e in events) == ["brake", "warn"]


def test_zz_ledger_figures() -> None:
    record_figures(
        "ledger unavailable",
        command="pytest tests/reliability/test_ledger.py",
        guard_processes=2,
        ledger_timeout_seconds=LEDGER_TIMEOUT,
        **dict(_figures),
        rotations_done_twice=0,
        events_published_twice=0,
    )
