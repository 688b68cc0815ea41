"""Unit tests of the executor and the ledger logic, with the in-memory ledger and fake actions.

The actions here are test doubles of the *action interface* (not of any Google client): they
prove the executor's bookkeeping, dry run, protection, failures and resumption.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from functions.actions import Action, Context, Outcome
from functions.decision import decide
from functions.errors import ActionFailed, CrossingBusy, LedgerUnavailable, TransientError
from functions.executor import Executor
from functions.ledger import LEASE_SECONDS, Ledger
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.notification import parse
from functions.policy import parse_policy
from tests.sample import ACCOUNT, alert, policy_doc

RULES = [
    {"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["record"]},
    {"name": "stop", "threshold": 1.0, "basis": "actual", "actions": ["record", "brake", "last"]},
]


class Script:
    """What each fake action does on each call: an Outcome, or an exception to raise.

    ``plan`` is keyed by (rule, project, action): the executor runs firings concurrently.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.plan: dict[tuple[str, str, str], list[Any]] = {}

    def next(self, call: tuple[str, str, str]) -> Any:
        steps = self.plan.get(call) or []
        return steps.pop(0) if steps else Outcome("done", f"{call[2]} done")


SCRIPT = Script()


def fake(action_name: str, mutates: bool = True, idempotent: bool = True) -> type[Action]:
    class Fake(Action):
        name: ClassVar[str] = action_name
        summary: ClassVar[str] = f"do {action_name}"

        def run(self, ctx: Context) -> Outcome:
            call = (ctx.firing.rule.name, ctx.project, action_name)
            SCRIPT.calls.append(call)
            ctx.progress["step"] = "started"
            ctx.checkpoint()  # persisting progress mid-action must not lose the outcome
            step = SCRIPT.next(call)
            if isinstance(step, BaseException):
                raise step
            return step  # type: ignore[no-any-return]

    Fake.mutates = mutates
    Fake.idempotent = idempotent
    return Fake


REGISTRY = {
    "record": fake("record", mutates=False, idempotent=False),
    "brake": fake("brake"),
    "last": fake("last"),
}
KNOWN = frozenset(REGISTRY)
STOP_BRAKE = ("stop", "gemini-prod", "brake")


@pytest.fixture(autouse=True)
def script() -> Iterator[Script]:
    SCRIPT.__init__()  # type: ignore[misc]
    yield SCRIPT


class Run:
    def __init__(
        self,
        ledger: Ledger | None = None,
        restored: Callable[[str, str], bool] = lambda project, period: False,
        **policy: Any,
    ) -> None:
        doc = policy_doc(rules=RULES, **policy)
        doc["budgets"] = {k: {"projects": ["gemini-prod", "shared-infra"]} for k in doc["budgets"]}
        self.policy = parse_policy(doc, KNOWN)
        self.ledger = ledger or MemoryLedger()
        self.stream = io.StringIO()
        self.executor = Executor(
            self.policy, lambda: self.ledger, Logger(stream=self.stream), REGISTRY, restored
        )

    def deliver(self, cost: float, message_id: str = "m", **kw: Any) -> list[dict[str, Any]]:
        n = parse(alert(cost, **kw).message(message_id), ACCOUNT, self.policy.budgets)
        return self.executor.run(n, decide(n, self.policy))

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def record(self, rule: str, project: str = "gemini-prod") -> dict[str, Any]:
        (rec,) = self.ledger.records(rule=rule, project=project)
        return rec


def test_each_crossing_acts_once_however_often_delivered(script: Script) -> None:
    run = Run(protected_projects=["shared-infra"])
    run.deliver(1200, "m1")
    for i in range(5):
        run.deliver(1300 + i, f"dup-{i}")
    run.deliver(700, "late-out-of-order")
    assert sorted(script.calls) == sorted(
        [
            ("warn", "gemini-prod", "record"),
            ("warn", "shared-infra", "record"),
            ("stop", "gemini-prod", "record"),
            ("stop", "gemini-prod", "brake"),
            ("stop", "gemini-prod", "last"),
            ("stop", "shared-infra", "record"),
        ]
    ), "protected project gets only the action that does not touch it"
    rec = run.record("stop", "shared-infra")
    assert rec["state"] == "done"
    assert rec["actions"]["brake"]["status"] == "skipped"
    assert "protected" in rec["actions"]["brake"]["detail"]
    rec = run.record("stop")
    assert rec["first_message_id"] == "m1" and rec["reason"].startswith("actual spend 1200.0 USD")
    assert [h["what"] for h in rec["history"]] == ["record: done", "brake: done", "last: done"]
    assert rec["actions"]["brake"] == {
        "status": "done",
        "detail": "brake done",
        "attempts": 1,
        "progress": {"step": "started"},
    }
    assert sum("duplicate" in line["message"] for line in run.logs()) == 5 * 4 + 2


def test_new_period_and_raised_budget_rearm(script: Script) -> None:
    run = Run()
    run.deliver(1200, "a")
    before = len(script.calls)
    run.deliver(1200, "b", period_start="2026-10-01T07:00:00Z")
    run.deliver(2400, "c", budget=2000)
    assert len(script.calls) == before * 3


def test_dry_run_records_what_would_run_and_runs_nothing(script: Script) -> None:
    run = Run(dry_run=True)
    run.deliver(1200)
    assert script.calls == []
    rec = run.record("stop")
    assert rec["dry_run"] is True and rec["state"] == "done"
    assert {a: v["status"] for a, v in rec["actions"].items()} == dict.fromkeys(
        ["record", "brake", "last"], "would_run"
    )
    assert any(line["message"] == "dry run: would do brake on gemini-prod" for line in run.logs())


def test_permanent_failure_is_logged_at_error_and_the_next_brake_still_runs(script: Script) -> None:
    run = Run()
    script.plan[STOP_BRAKE] = [ActionFailed("brake refused", "grant x.y.z")]
    run.deliver(1200, "first")
    rec = run.record("stop")
    assert rec["state"] == "open"
    assert rec["actions"]["brake"]["status"] == "failed"
    assert rec["actions"]["last"]["status"] == "done"
    errors = [line for line in run.logs() if line["severity"] == "ERROR"]
    assert (
        len(errors) == 1 and errors[0]["remedy"] == "grant x.y.z" and errors[0]["action"] == "brake"
    )
    # The next delivery retries only the failed action.
    run.deliver(1250, "second")
    assert [c for c in script.calls if c[0] == "stop" and c[1] == "gemini-prod"] == [
        ("stop", "gemini-prod", "record"),
        ("stop", "gemini-prod", "brake"),
        ("stop", "gemini-prod", "last"),
        ("stop", "gemini-prod", "brake"),
    ]
    assert run.record("stop")["state"] == "done"


def test_transient_failure_raises_for_redelivery_then_resumes(script: Script) -> None:
    run = Run()
    script.plan[STOP_BRAKE] = [TransientError("503 after retries")]
    with pytest.raises(TransientError, match="503"):
        run.deliver(1200, "first")
    rec = run.record("stop")
    assert rec["actions"]["brake"]["status"] == "retrying" and rec["lease_until"] is None
    assert rec["actions"]["last"]["status"] == "done", (
        "one failure does not hold back the next brake"
    )
    run.deliver(1200, "redelivery")
    rec = run.record("stop")
    assert rec["state"] == "done" and rec["actions"]["brake"]["attempts"] == 2
    assert rec["message_ids"] == ["first", "redelivery"]
    assert script.calls.count(("stop", "gemini-prod", "brake")) == 2
    assert script.calls.count(("stop", "gemini-prod", "record")) == 1


def test_unexpected_exception_in_an_action_is_contained(script: Script) -> None:
    run = Run()
    script.plan[("warn", "gemini-prod", "record")] = [KeyError("bug")]
    run.deliver(600)
    assert run.record("warn")["actions"]["record"]["status"] == "failed"
    assert any(line["severity"] == "ERROR" and "KeyError" in line["message"] for line in run.logs())


def test_a_live_lease_held_elsewhere_is_busy_and_an_expired_one_is_taken(script: Script) -> None:
    ledger = MemoryLedger()
    run = Run(ledger)
    n = parse(alert(600).message("x"), ACCOUNT, run.policy.budgets)
    (firing, *_) = decide(n, run.policy)
    now = datetime.now(UTC)
    assert ledger.claim(firing, "crashed-holder", now) is not None  # never released: a crash
    with pytest.raises(CrossingBusy):
        ledger.claim(firing, "other", now + timedelta(seconds=10))
    later = ledger.claim(firing, "after-expiry", now + timedelta(seconds=LEASE_SECONDS + 1))
    assert later is not None and later.resumed and later.record["attempts"] == 2


class DownLedger(MemoryLedger):
    def _create(self, doc_id: str, record: dict[str, Any]) -> bool:
        raise LedgerUnavailable("firestore unreachable")


def test_ledger_down_runs_only_idempotent_brakes_and_raises(script: Script) -> None:
    run = Run(DownLedger(), protected_projects=["shared-infra"])
    with pytest.raises(LedgerUnavailable):
        run.deliver(1200)
    assert sorted(script.calls) == [
        ("stop", "gemini-prod", "brake"),
        ("stop", "gemini-prod", "last"),
    ]
    errors = [line for line in run.logs() if line["severity"] == "ERROR"]
    assert any(line.get("waiting") == ["record"] for line in errors)


def test_busy_crossing_is_logged_and_raised_for_redelivery(script: Script) -> None:
    run = Run()
    n = parse(alert(600).message("holder"), ACCOUNT, run.policy.budgets)
    (firing, *_) = decide(n, run.policy)
    assert run.ledger.claim(firing, "holder") is not None  # another instance, still acting
    with pytest.raises(CrossingBusy):
        run.deliver(600, "second")
    busy = [line for line in run.logs() if line["message"].startswith("busy")]
    assert [(b["severity"], b["message_id"]) for b in busy] == [("INFO", "second")]
    assert script.calls == [("warn", "shared-infra", "record")], "a busy crossing blocks no other"


def test_ledger_down_and_a_restore_on_record_runs_no_brake(script: Script) -> None:
    asked: list[tuple[str, str]] = []

    def restored(project: str, period: str) -> bool:
        asked.append((project, period))
        return project == "gemini-prod"

    run = Run(DownLedger(), restored)
    with pytest.raises(LedgerUnavailable):
        run.deliver(1200)
    assert ("stop", "gemini-prod", "brake") not in script.calls
    assert ("stop", "shared-infra", "brake") in script.calls, "the marker is per project"
    assert ("gemini-prod", "2026-11-01T07:00:00Z") in asked
    said = [line for line in run.logs() if "restored this project" in line["message"]]
    assert [(s["severity"], s["project"]) for s in said] == [("WARNING", "gemini-prod")]


def test_ledger_down_and_the_marker_unreadable_runs_no_brake(script: Script) -> None:
    def unreadable(project: str, period: str) -> bool:
        raise TransientError("resource manager 503")

    run = Run(DownLedger(), unreadable)
    with pytest.raises(LedgerUnavailable):
        run.deliver(1200)
    assert not [c for c in script.calls if c[2] != "record"], "no brake without the marker"
    errors = [line for line in run.logs() if "marker unreadable" in line["message"]]
    assert errors and all(e["severity"] == "ERROR" for e in errors)
