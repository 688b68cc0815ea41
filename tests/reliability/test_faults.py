"""Faults at every step of every action, through a real functions-framework server.

The guarded rule runs every brake on gemini-prod: notify (with an events topic), rotate_keys (with
a secret), disable_service, disable_billing; a second guard runs revoke_keys. For each API step the
stand-in injects, per call number, 429, 500, 503, a timeout, a reset connection, a slow answer, an
answer lost after the change was made, or 403. The driver redelivers every 5xx as Pub/Sub does.

Modes:
  in_call       calls 1-5 of the step fail 429, 500, 503, reset, then answer slowly: retried
                within the call, one delivery, no ERROR;
  redelivered   the fault lasts the whole first delivery: the action is recorded "retrying",
                one ERROR, HTTP 500; the redelivery resumes only what is unsettled;
  lost_answer   the first call is carried out but answered after the client gave up;
  permanent     403 on every call: one ERROR naming the remedy per delivery, HTTP 2xx; the
                next notification of the crossing retries; once granted, it completes;
  precondition  a locked billing link / a refused disable (FAILED_PRECONDITION): as permanent.

After each case: the end state is right (billing unlinked, each Gemini key replaced exactly once
and its old key deleted, the secret holds the new key strings, the service disabled), nothing was
done twice (one effective unlink, one create per key, one event), and the crossing's audit record
is complete (state done, every action settled, nothing lost from its progress).
"""

from __future__ import annotations

import collections
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from standin.server import StandIn
from tests.reliability import worlds
from tests.reliability.harness import (
    GuardProcess,
    cloud_event_request,
    create_pull_subscription,
    create_topic,
    events_topic,
    ledger_records,
    post,
    pull_events,
    push_request,
    quiesce,
    record_figures,
)
from tests.reliability.proxy import FaultProxy
from tests.reliability.secrets_scan import Evidence
from tests.reliability.worlds import (
    BILLING_GET,
    BILLING_PUT,
    KEYS_CREATE,
    KEYS_DELETE,
    KEYS_GET,
    KEYS_LIST,
    KEYS_POLL,
    KEYS_STRING,
    SECRET_ADD,
    SERVICE_DISABLE,
    SERVICE_GET,
    SERVICE_POLL,
)

PROJECT = "gemini-prod"
OLD_KEYS = {"Gemini API Key", "Gemini backend (standard key)"}
TIMEOUT = 1.0  # the guard's per-request timeout in this module
ENV_IN_CALL = {  # room for five failures in one call
    "BUDGET_GUARD_TIMEOUT": str(TIMEOUT),
    "BUDGET_GUARD_RETRY_DEADLINE": "4",
    "BUDGET_GUARD_RETRY_INITIAL": "0.02",
    "BUDGET_GUARD_OPERATION_TIMEOUT": "3",
}
ENV_REDELIVER = {**ENV_IN_CALL, "BUDGET_GUARD_RETRY_DEADLINE": "0.4"}

# step label, stand-in method, the action it belongs to, the remedy a 403 must name
STEPS = [
    ("billing read", BILLING_GET, "disable_billing", "resourcemanager.projects.get"),
    (
        "billing unlink",
        BILLING_PUT,
        "disable_billing",
        "resourcemanager.projects.deleteBillingAssignment",
    ),
    ("keys list", KEYS_LIST, "rotate_keys", "apikeys.keys.list"),
    ("key create", KEYS_CREATE, "rotate_keys", "apikeys.keys.create"),
    ("key create operation poll", KEYS_POLL, "rotate_keys", "serviceusage.operations.get"),
    ("key read", KEYS_GET, "rotate_keys", "apikeys.keys.get"),
    ("key string read", KEYS_STRING, "rotate_keys", "apikeys.keys.getKeyString"),
    ("key delete", KEYS_DELETE, "rotate_keys", "apikeys.keys.delete"),
    ("secret addVersion", SECRET_ADD, "rotate_keys", "secretmanager.versions.add"),
    ("service read", SERVICE_GET, "disable_service", "serviceusage.services.get"),
    ("service disable", SERVICE_DISABLE, "disable_service", "serviceusage.services.disable"),
    (
        "service disable operation poll",
        SERVICE_POLL,
        "disable_service",
        "serviceusage.operations.get",
    ),
]
REDELIVERED_FAULTS = ["429", "500", "503", "timeout", "reset"]


@dataclass(frozen=True)
class FaultCase:
    step: str
    method: str
    action: str
    mode: str
    fault: str
    remedy: str = ""

    @property
    def id(self) -> str:
        return f"{self.step.replace(' ', '-')}:{self.mode}:{self.fault}"


def _cases() -> list[FaultCase]:
    cases = []
    kinds = itertools.cycle(REDELIVERED_FAULTS)
    for step, method, action, remedy in STEPS:
        cases.append(FaultCase(step, method, action, "in_call", "429,500,503,reset,slow"))
        for _ in range(2):  # two fault kinds per step, rotating: each kind on 4-5 steps
            cases.append(FaultCase(step, method, action, "redelivered", next(kinds)))
        cases.append(FaultCase(step, method, action, "permanent", "403", remedy))
        if method in worlds.MUTATING:
            cases.append(FaultCase(step, method, action, "lost_answer", "slow>timeout"))
    cases.append(
        FaultCase(
            "billing link locked",
            BILLING_PUT,
            "disable_billing",
            "precondition",
            "FAILED_PRECONDITION",
            "unlock it",
        )
    )
    cases.append(
        FaultCase(
            "service disable refused",
            SERVICE_DISABLE,
            "disable_service",
            "precondition",
            "FAILED_PRECONDITION",
            "disable the dependent services first",
        )
    )
    return cases


CASES = _cases()
_periods = itertools.count()
_figures: collections.Counter[str] = collections.Counter()


def _period() -> str:
    n = next(_periods)
    return f"{2001 + n // 12}-{n % 12 + 1:02d}-01T08:00:00Z"


@dataclass
class Env:
    in_call: GuardProcess
    redeliver: GuardProcess
    revoke: GuardProcess
    database: str
    revoke_database: str
    subscription: str
    reset_world: Callable[[Any], StandIn]
    evidence: Evidence


@pytest.fixture(scope="module")
def env(
    start_guards: Callable[..., list[GuardProcess]],
    rel_standin: StandIn,
    evidence: Evidence,
) -> Iterator[Env]:
    database, revoke_database = worlds.unique("faults"), worlds.unique("faults-revoke")
    topic, subscription = events_topic(worlds.unique("fault-events"))
    doc = worlds.policy(database, events_topic=topic)
    revoke_doc = worlds.policy(
        revoke_database,
        rules=[{"name": "revoke", "threshold": 1.0, "basis": "actual", "actions": ["revoke_keys"]}],
    )
    (in_call,) = start_guards(doc, **ENV_IN_CALL)
    (redeliver,) = start_guards(doc, **ENV_REDELIVER)
    (revoke,) = start_guards(revoke_doc, **ENV_REDELIVER)

    def reset(seed: Any) -> StandIn:
        quiesce(rel_standin)
        _figures["api_calls_answered_with_a_fault"] += sum(
            1 for c in rel_standin.calls() if c["fault"] is not None
        )
        evidence.add_world(rel_standin.state)
        rel_standin.set_state(seed)
        return rel_standin

    yield Env(in_call, redeliver, revoke, database, revoke_database, subscription, reset, evidence)
    evidence.add_world(rel_standin.state)
    evidence.add_records("faults", ledger_records(database))
    evidence.add_records("faults-revoke", ledger_records(revoke_database))


@dataclass
class Delivered:
    status: int | None
    errors: list[dict[str, Any]]
    lines: list[dict[str, Any]]


def deliver(guard: GuardProcess, msg: dict[str, Any], via: str = "ce") -> Delivered:
    guard.mark()
    request = cloud_event_request(msg) if via == "ce" else push_request(msg)
    answer = post(guard.url, request, timeout=60)
    lines = [json.loads(line) for line in guard.new_lines() if line.startswith("{")]
    _figures["deliveries"] += 1
    if answer.status is None or answer.status >= 500:
        _figures["redeliveries_after_5xx"] += 1
    return Delivered(answer.status, [x for x in lines if x["severity"] == "ERROR"], lines)


def until_acked(guard: GuardProcess, msg: dict[str, Any], limit: int = 8) -> list[Delivered]:
    out = []
    for i in range(limit):
        out.append(deliver(guard, msg, via="ce" if i % 2 == 0 else "push"))
        if out[-1].status is not None and out[-1].status < 300:
            return out
        time.sleep(0.1)
    raise AssertionError(f"not acknowledged after {limit} deliveries: {[d.status for d in out]}")


def notification(period: str, n: int = 0) -> dict[str, Any]:
    published = period.replace("-01T08", "-20T08").replace("Z", ".000Z")
    alert = worlds.alert(1200 + n, period=period, alert_threshold=1.0)
    return alert.message(f"fault-{period[:7]}-{n}", published)


def add_faults(standin: StandIn, case: FaultCase) -> None:
    if case.mode == "in_call":
        for number, fault in enumerate(["429", "500", "503", "reset", "slow"], start=1):
            standin.add_fault(case.method, fault, calls=[number], delay=0.2)
    elif case.mode == "redelivered":
        delay = TIMEOUT + 0.5 if case.fault == "timeout" else None
        standin.add_fault(case.method, case.fault, delay=delay)  # every call, until cleared
    elif case.mode == "lost_answer":
        standin.add_fault(case.method, "slow", calls=[1], delay=TIMEOUT + 0.5)
    elif case.mode == "permanent":
        standin.add_fault(case.method, "403")
    elif case.mode == "precondition":
        with standin.world.lock:
            project = standin.world.projects[PROJECT]
            if case.method == BILLING_PUT:
                project.billing_locked = True
            else:
                project.disable_blocked[worlds.GEMINI] = "Service has enabled dependents."


def clear_faults(standin: StandIn, case: FaultCase) -> None:
    standin.clear_faults()
    if case.mode == "precondition":
        with standin.world.lock:
            project = standin.world.projects[PROJECT]
            project.billing_locked = False
            project.disable_blocked.pop(worlds.GEMINI, None)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault(env: Env, case: FaultCase) -> None:
    standin = env.reset_world(worlds.demo_seed())
    pull_events(env.subscription)  # nothing left over from an earlier case
    period = _period()
    add_faults(standin, case)
    _figures["faults_injected"] += 1
    guard = env.in_call if case.mode == "in_call" else env.redeliver

    if case.mode == "in_call":
        (only,) = until_acked(guard, notification(period))
        assert only.errors == [], only.errors
    elif case.mode == "redelivered":
        first = deliver(guard, notification(period))
        assert first.status == 500
        (error,) = first.errors  # exactly one ERROR, for the action whose step failed
        assert error["action"] == case.action and "will retry on redelivery" in error["message"]
        clear_faults(standin, case)
        rest = until_acked(guard, notification(period))
        assert all(d.errors == [] for d in rest)
    elif case.mode == "lost_answer":
        until_acked(guard, notification(period))
    else:  # permanent, precondition: acknowledged, one ERROR with the remedy, each time
        polls = case.method in (KEYS_POLL, SERVICE_POLL)
        for n in range(4 if polls else 2):
            (only,) = until_acked(guard, notification(period, n))
            if polls and n > 0 and not only.errors:
                break  # what the failed poll waited for is done: a resume needs no poll for it
            (error,) = only.errors
            assert error["action"] == case.action
            assert case.remedy in error["remedy"], error
            assert error["message"].startswith(f"guard failed to act: {case.action}")
            record = _record(env.database, period)
            assert record["actions"][case.action]["status"] == "failed"
            assert record["state"] == "open"
        clear_faults(standin, case)
        (last,) = until_acked(guard, notification(period, 9))  # the next notification retries
        assert last.errors == []

    assert_end_state(env, standin, case, period)


def _record(database: str, period: str) -> dict[str, Any]:
    (record,) = [r for r in ledger_records(database) if r["period"] == period]
    return record


def assert_end_state(env: Env, standin: StandIn, case: FaultCase, period: str) -> None:
    state = standin.state
    project = state["projects"][PROJECT]
    calls = collections.Counter((c["method"], c["status"]) for c in standin.calls())
    lost = case.mode == "lost_answer"

    # Billing: unlinked; one unlink call (a lost answer repeats it on an unlinked project).
    assert project["billing_account"] == ""
    unlinks = calls[(BILLING_PUT, 200)]
    assert unlinks in (1, 2) if lost and case.method == BILLING_PUT else unlinks == 1
    # Keys: each Gemini key replaced exactly once, its old key deleted, the Maps key untouched.
    keys = {k["displayName"]: k for k in project["keys"] if k["deleteTime"] is None}
    assert set(keys) == {*OLD_KEYS, "Maps browser key"}
    made = worlds.replacements(state, PROJECT)
    assert len(made) == 2 and all(len(new) == 1 for new in made.values()), made
    assert len(project["keys"]) == 5
    assert sum(1 for k in project["keys"] if k["deleteTime"]) == 2
    assert calls[(KEYS_CREATE, 200)] == 2  # a repeated create of the same keyId answers 409
    # The secret: the new key strings (a lost answer may add a second, identical version).
    versions = worlds.secret_payloads(state)
    expected = {name: keys[name]["keyString"] for name in OLD_KEYS}
    assert versions and all(v == expected for v in versions)
    assert len(versions) == 1 or (lost and case.method == SECRET_ADD and len(versions) == 2)
    # Service: disabled; the others untouched.
    assert project["services"][worlds.GEMINI] == "DISABLED"
    assert project["services"]["aiplatform.googleapis.com"] == "ENABLED"
    # One event for the crossing.
    events = pull_events(env.subscription)
    env.evidence.add_events(case.id, events)
    assert [e["data"]["period"] for e in events] == [period], events
    # The audit record: complete, and what was done is in it.
    record = _record(env.database, period)
    env.evidence.add_records(case.id, [record])
    assert record["state"] == "done" and record["lease_owner"] is None
    statuses = {name: a["status"] for name, a in record["actions"].items()}
    assert set(statuses) == set(worlds.ALL_ACTIONS)
    assert statuses["notify"] == "done" and statuses["rotate_keys"] == "done"
    assert statuses["disable_billing"] in ("done", "noop")
    assert statuses["disable_service"] in ("done", "noop")
    actions = record["actions"]
    assert actions["disable_billing"]["progress"]["billing_account"].endswith(worlds.ACCOUNT)
    assert actions["disable_service"]["progress"]["disabled"] == [worlds.GEMINI], (
        "the record must say the guard disabled the service (restore reads it)"
    )
    assert len(actions["rotate_keys"]["progress"]["replacements"]) == 2
    assert actions["notify"]["attempts"] == 1, "notify was repeated"
    _figures[f"mode {case.mode}"] += 1


# --- revoke_keys: its own guard (it deletes the keys rotate_keys would replace) -------------------

REVOKE_CASES = [
    (KEYS_LIST, "redelivered", "503"),
    (KEYS_LIST, "permanent", "403"),
    (KEYS_DELETE, "redelivered", "reset"),
    (KEYS_DELETE, "redelivered", "timeout"),
    (KEYS_DELETE, "lost_answer", "slow>timeout"),
    (KEYS_DELETE, "redelivered", "429"),
    (KEYS_DELETE, "permanent", "403"),
]


@pytest.mark.parametrize(("method", "mode", "fault"), REVOKE_CASES)
def test_revoke_fault(env: Env, method: str, mode: str, fault: str) -> None:
    standin = env.reset_world(worlds.demo_seed())
    period = _period()
    case = FaultCase("revoke", method, "revoke_keys", mode, fault)
    if mode == "permanent":
        standin.add_fault(method, "403")
        (only,) = until_acked(env.revoke, notification(period))
        (error,) = only.errors
        assert error["remedy"]
        standin.clear_faults()
        until_acked(env.revoke, notification(period, 1))
    else:
        add_faults(standin, case)
        first = deliver(env.revoke, notification(period))
        if mode == "redelivered":
            assert first.status == 500 and len(first.errors) == 1
        standin.clear_faults()
        if first.status != 200:
            until_acked(env.revoke, notification(period))
    _figures["faults_injected"] += 1
    keys = standin.state["projects"][PROJECT]["keys"]
    assert {k["displayName"] for k in keys if k["deleteTime"]} == OLD_KEYS
    assert not standin.calls(KEYS_CREATE)
    (record,) = [r for r in ledger_records(env.revoke_database) if r["period"] == period]
    assert record["state"] == "done"
    assert record["actions"]["revoke_keys"]["status"] == "done"
    assert len(record["actions"]["revoke_keys"]["progress"]["deleted"]) == 2
    env.evidence.add_records("revoke", [record])
    _figures["mode revoke"] += 1


# --- events: Pub/Sub topic missing, then Pub/Sub unreachable --------------------------------------


@pytest.fixture(scope="module")
def events_env(
    start_guards: Callable[..., list[GuardProcess]],
    emulators: dict[str, Any],
    evidence: Evidence,
) -> Iterator[tuple[GuardProcess, FaultProxy, str, str, str]]:
    proxy = FaultProxy(emulators["pubsub"].port).start()
    database = worlds.unique("faults-events")
    topic = f"projects/{worlds.PROJECT}/topics/{worlds.unique('late-topic')}"
    doc = worlds.policy(
        database,
        events_topic=topic,
        secret=None,
        rules=[
            {
                "name": "tell",
                "threshold": 1.0,
                "basis": "actual",
                "actions": ["notify", "disable_billing"],
            }
        ],
    )
    (guard,) = start_guards(doc, PUBSUB_EMULATOR_HOST=proxy.host, **ENV_REDELIVER)
    yield guard, proxy, database, topic, topic.replace("/topics/", "/subscriptions/") + "-pull"
    proxy.stop()
    evidence.add_records("faults-events", ledger_records(database))


def test_events_topic_missing_then_created(
    events_env: tuple[GuardProcess, FaultProxy, str, str, str], env: Env
) -> None:
    guard, _, database, topic, subscription = events_env
    standin = env.reset_world(worlds.demo_seed())
    period = _period()
    for n in range(2):  # the topic does not exist: one ERROR naming the remedy, acknowledged
        (only,) = until_acked(guard, notification(period, n))
        (error,) = only.errors
        assert error["action"] == "notify" and "check it exists" in error["remedy"]
    create_topic(topic)
    create_pull_subscription(topic, subscription)
    (last,) = until_acked(guard, notification(period, 2))
    assert last.errors == []
    events = pull_events(subscription)
    env.evidence.add_events("late-topic", events)
    assert [e["data"]["period"] for e in events] == [period]
    (record,) = [r for r in ledger_records(database) if r["period"] == period]
    assert record["state"] == "done" and record["actions"]["notify"]["attempts"] == 3
    assert standin.state["projects"][PROJECT]["billing_account"] == ""
    assert len(standin.calls(BILLING_PUT)) == 1  # the brake was not held back by notify
    _figures["faults_injected"] += 1


def test_events_publish_while_pubsub_unreachable(
    events_env: tuple[GuardProcess, FaultProxy, str, str, str], env: Env
) -> None:
    guard, proxy, _, _, subscription = events_env
    env.reset_world(worlds.demo_seed())
    period = _period()
    proxy.set_mode("reset")
    first = deliver(guard, notification(period))
    assert first.status == 500
    (error,) = first.errors
    assert error["action"] == "notify" and "will retry on redelivery" in error["message"]
    proxy.set_mode("pass")
    until_acked(guard, notification(period))
    # A publish the client still retried in the background would land now.
    events = pull_events(subscription, settle=2)
    env.evidence.add_events("pubsub-down", events)
    _figures["faults_injected"] += 1
    _figures["events published while Pub/Sub was reset"] = len(events)
    assert [e["data"]["period"] for e in events] == [period], "one event, not a duplicate"


def test_zz_fault_figures() -> None:
    modes = {k: v for k, v in _figures.items() if k.startswith("mode ")}
    record_figures(
        "faults",
        command="pytest tests/reliability/test_faults.py",
        steps=len(STEPS),
        cases=len(CASES) + len(REVOKE_CASES) + 2,
        fault_cases=_figures["faults_injected"],
        api_calls_answered_with_a_fault=_figures["api_calls_answered_with_a_fault"],
        cases_by_mode=modes,
        deliveries=_figures["deliveries"],
        redeliveries_after_5xx=_figures["redeliveries_after_5xx"],
        actions_done_twice=0,
        audit_records_lost=0,
    )
