"""``throttle`` through the real handler and executor, the Firestore emulator's ledger and the
real google-cloud-quotas client against the stand-in.

The policy lowers requests per minute to 1 for every model and requests per day to 10 for the
image model. The demo seed gives gemini-prod the tier 1 quota ids, seven models, and a current
usage of 120 requests per minute on gemini-2.5-flash (so only ignored safety checks let 1 pass).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import pytest

from functions.errors import TransientError
from functions.handler import Guard
from functions.ledger.firestore import FirestoreLedger
from functions.log import Logger
from functions.policy import parse_policy
from local import services
from standin import StandIn
from tests.sample import event, policy_doc

PROJECT = "gemini-prod"
RPM = "GenerateRequestsPerMinutePerProjectPerModel"
RPD = "GenerateRequestsPerDayPerProjectPerModel"
TPM = "GenerateContentPaidTierInputTokensPerModelPerMinute"
IMAGE = "gemini-3-pro-image-preview"
CREATE = "cloudquotas.projects.locations.quotaPreferences.create"
PATCH = "cloudquotas.projects.locations.quotaPreferences.patch"
THROTTLE = {
    "quotas": [
        {"family": "requests_per_minute", "value": 1, "models": ["*"]},
        {"family": "requests_per_day", "value": 10, "models": [IMAGE]},
    ]
}

pytestmark = pytest.mark.usefixtures("guard_env")


def throttle_doc(database: str, **changes: Any) -> dict[str, Any]:
    rules = [{"name": "stop", "threshold": 1.0, "basis": "actual", "actions": ["throttle"]}]
    ledger = {"project": services.DEFAULT_PROJECT, "database": database}
    return policy_doc(**{"rules": rules, "throttle": THROTTLE, "ledger": ledger, **changes})


class Run:
    """One guard over the stand-in with a fresh Firestore ledger database."""

    def __init__(self, standin: StandIn, database: str) -> None:
        self.standin = standin
        self.policy = parse_policy(throttle_doc(database))
        self.ledger = FirestoreLedger(self.policy.ledger)
        self.guard = Guard(self.policy, lambda: self.ledger, Logger(stream=io.StringIO()))
        self.before = standin.quotas(PROJECT)

    def deliver(self, message_id: str = "m-1") -> list[dict[str, Any]]:
        return self.guard.handle(event(1200, message_id=message_id))

    def record(self) -> dict[str, Any]:
        (record,) = self.ledger.records(rule="stop")
        return record

    def expected(self) -> dict[str, dict[str, int]]:
        """The seed's quotas with exactly the policy's rows lowered."""
        want = {qid: dict(models) for qid, models in self.before.items()}
        for model in want[RPM]:
            want[RPM][model] = 1
        want[RPD][IMAGE] = 10
        return want


@pytest.fixture
def run(standin: StandIn, firestore_emulator: Any, unique_name: Callable[[str], str]) -> Run:
    return Run(standin, unique_name("quotas"))


def test_lowers_exactly_the_configured_quotas_once(run: Run, standin: StandIn) -> None:
    run.deliver("m-1")
    assert run.deliver("m-2")[0]["duplicate"]  # another message for the same crossing

    assert standin.quotas(PROJECT) == run.expected()
    assert standin.quotas(PROJECT)[TPM] == run.before[TPM]
    assert len(standin.calls(CREATE)) == 8 and standin.calls(PATCH) == []
    entry = run.record()["actions"]["throttle"]
    assert entry["status"] == "done"
    replaced = entry["progress"]["replaced"]
    assert replaced[f"{RPM}/gemini-2.5-pro"]["before"] == 150
    assert replaced[f"{RPD}/{IMAGE}"] == {
        "quota_id": RPD,
        "model": IMAGE,
        "value": 10,
        "before": 250,
        "preference": replaced[f"{RPD}/{IMAGE}"]["preference"],
    }
    assert sorted(entry["progress"]["lowered"]) == sorted(replaced)
    assert len(replaced) == 8


def test_a_503_mid_way_resumes_on_redelivery(run: Run, standin: StandIn) -> None:
    standin.add_fault(CREATE, "503", calls=list(range(3, 60)))  # the third row on, every try

    with pytest.raises(TransientError):
        run.deliver("m-1")
    entry = run.record()["actions"]["throttle"]
    assert entry["status"] == "retrying" and len(entry["progress"]["lowered"]) == 2
    assert len(entry["progress"]["replaced"]) == 8  # the plan, with every value it replaces

    standin.clear_faults()
    run.deliver("m-1")  # Pub/Sub redelivers

    assert standin.quotas(PROJECT) == run.expected()
    entry = run.record()["actions"]["throttle"]
    assert entry["status"] == "done" and entry["attempts"] == 2
    ok = [c for c in standin.calls(CREATE) if c["status"] == 200]
    assert len(ok) == 8  # each row set once
    assert len(standin.state["quotas"][PROJECT]["preferences"]) == 8


def test_redelivery_after_a_lost_answer_writes_nothing_twice(run: Run, standin: StandIn) -> None:
    # The first create is carried out after the client gave up (timeout 2 s): its answer is lost.
    standin.add_fault(CREATE, "slow", calls=[1], delay=2.5)

    with pytest.raises(TransientError):
        run.deliver("m-1")
    time.sleep(0.8)  # the slow call lands
    run.deliver("m-1")

    assert standin.quotas(PROJECT) == run.expected()
    assert run.record()["actions"]["throttle"]["status"] == "done"
    assert len(standin.state["quotas"][PROJECT]["preferences"]) == 8
    assert len(standin.calls(CREATE)) == 8  # the lost one is found, not created again


def test_already_low_quotas_are_left_alone(run: Run, standin: StandIn) -> None:
    with standin.world.lock:
        infos = standin.world.quotas[PROJECT].infos
        infos[RPM].values = {m: 0 for m in infos[RPM].values}
        infos[RPD].values[IMAGE] = 5

    run.deliver("m-1")

    entry = run.record()["actions"]["throttle"]
    assert entry["status"] == "noop"
    assert standin.calls(CREATE) == []


def test_a_fixed_quota_fails_with_a_remedy_and_the_rest_is_lowered(
    run: Run, standin: StandIn
) -> None:
    with standin.world.lock:
        standin.world.quotas[PROJECT].infos[RPD].is_fixed = True

    run.deliver("m-1")

    entry = run.record()["actions"]["throttle"]
    assert entry["status"] == "failed"
    assert "is_fixed" in entry["detail"] and "Fix:" in entry["detail"]
    assert len(entry["progress"]["lowered"]) == 7
    assert standin.quotas(PROJECT)[RPM] == run.expected()[RPM]


def test_a_throttle_rule_without_a_throttle_section_fails_at_start_up() -> None:
    from functions.errors import PolicyError

    doc = throttle_doc("ledger-x")
    del doc["throttle"]
    with pytest.raises(PolicyError, match=r"rules\[0\]\.actions: throttle needs"):
        parse_policy(doc)
    bad = throttle_doc("ledger-x", throttle={"quotas": [{"family": "tokens", "value": 1}]})
    with pytest.raises(PolicyError, match=r"throttle\.quotas\[0\]\.family"):
        parse_policy(bad)


def test_with_the_ledger_down_throttle_still_runs_and_redelivery_is_asked(
    standin: StandIn,
) -> None:
    from functions.errors import LedgerUnavailable
    from functions.ledger.memory import MemoryLedger

    class Down(MemoryLedger):
        def _create(self, doc_id: str, record: dict[str, Any]) -> bool:
            raise LedgerUnavailable("Firestore is down (test)")

    policy = parse_policy(throttle_doc("ledger-down"))
    before = standin.quotas(PROJECT)
    guard = Guard(policy, lambda: Down(), Logger(stream=io.StringIO()))

    with pytest.raises(LedgerUnavailable):
        guard.handle(event(1200, message_id="m-1"))  # Pub/Sub redelivers: the ledger catches up

    after = standin.quotas(PROJECT)
    assert after[RPM] == dict.fromkeys(before[RPM], 1)
    assert after[RPD][IMAGE] == 10
    with pytest.raises(LedgerUnavailable):  # a second delivery finds everything low: no write
        guard.handle(event(1200, message_id="m-2"))
    assert len(standin.calls(CREATE)) == 8
