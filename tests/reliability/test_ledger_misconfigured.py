"""A ledger that refuses for good (database missing, in Datastore mode, no permission): one ERROR
naming the fix, then handled as any unavailable ledger (the idempotent brakes run without it, the
delivery is redelivered).

The guard's real Firestore client talks to ``FirestoreRefusal`` (a gRPC server answering as Google
does for each misconfiguration). Before this, NOT_FOUND and FAILED_PRECONDITION escaped the ledger
as they were: no brake, no ERROR line, a traceback and a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from standin.server import StandIn
from tests.reliability import worlds
from tests.reliability.firestore_refusal import FirestoreRefusal, refusals
from tests.reliability.harness import PROJECT, GuardProcess, cloud_event_request, post

DATABASE = "budget-guard-ledger"
FIXES = {
    "database-missing": ["create the Firestore database", repr(DATABASE), PROJECT],
    "datastore-mode": ["Datastore mode", "Native mode", repr(DATABASE)],
    "permission-denied": ["roles/datastore.user", repr(DATABASE)],
}


@pytest.fixture(scope="module")
def refusal() -> Iterator[FirestoreRefusal]:
    with FirestoreRefusal(refusals(PROJECT, DATABASE)["permission-denied"]) as server:
        yield server


@pytest.fixture(scope="module")
def guard(
    refusal: FirestoreRefusal, start_guards: Callable[..., list[GuardProcess]]
) -> GuardProcess:
    rules = [{"name": "stop", "threshold": 1.0, "basis": "actual", "actions": worlds.ALL_ACTIONS}]
    (guard,) = start_guards(
        worlds.policy(DATABASE, rules=rules),
        FIRESTORE_EMULATOR_HOST=refusal.host,
        BUDGET_GUARD_LEDGER_TIMEOUT="2",
    )
    return guard


@pytest.mark.parametrize("kind", sorted(FIXES))
def test_a_misconfigured_ledger_is_one_error_naming_the_fix_and_the_brakes_still_run(
    kind: str,
    refusal: FirestoreRefusal,
    guard: GuardProcess,
    world: Callable[..., StandIn],
) -> None:
    standin = world(worlds.demo_seed())
    refusal.refusal = refusals(PROJECT, DATABASE)[kind]
    refusal.calls.clear()
    msg = worlds.alert(1250, alert_threshold=1.0).message(f"misconfigured-{kind}")

    guard.mark()
    answer = post(guard.url, cloud_event_request(msg), timeout=60)
    lines = [json.loads(x) for x in guard.new_lines() if x.startswith("{")]

    assert refusal.calls, "the guard's Firestore client reached the refusing server"
    assert answer.status == 500, "handled as an unavailable ledger: Pub/Sub redelivers"
    fixes = [line for line in lines if line["message"].startswith("ledger misconfigured")]
    assert len(fixes) == 1 and fixes[0]["severity"] == "ERROR", lines
    for words in FIXES[kind]:
        assert words in fixes[0]["remedy"], fixes[0]
    without = [line for line in lines if line["message"].startswith("ledger unavailable: ran")]
    assert len(without) == 1 and without[0]["waiting"] == ["notify"]
    assert any(r.startswith("disable_billing: done") for r in without[0]["ran"]), without
    project = standin.state["projects"]["gemini-prod"]
    assert project["billing_account"] == "", "the ledger-less brakes ran"
    assert project["services"][worlds.GEMINI] == "DISABLED"
