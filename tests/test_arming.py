"""What re-arms a crossing, and a zero budget amount (functions.decision).

For LAST_MONTH_COST and LAST_PERIODS_COST budgets the amount is last period's cost, revised by
cents as late charges arrive: within a period a revision is the same crossing. A
SPECIFIED_AMOUNT budget re-arms when the user changes its amount. A zero amount is real: any
spend above 0 crosses every actual threshold. Unit tests on the decision, then the real path
(handler, executor, ledger, stand-in billing) for a restore followed by a revision.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest

from functions.decision import decide
from functions.handler import Guard
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.notification import parse
from functions.policy import parse_policy
from standin import StandIn
from tests.sample import ACCOUNT, BUDGET, PERIOD, POLICY, alert, event, policy_doc

POL = parse_policy(POLICY)
LAST = ("LAST_MONTH_COST", "LAST_PERIODS_COST")
UPDATE = "cloudbilling.projects.updateBillingInfo"


def firings(cost: float, budget: float, **kw: Any) -> list[Any]:
    return decide(parse(alert(cost, budget, **kw).message("m"), ACCOUNT, POL.budgets), POL)


def crossing(cost: float, budget: float, **kw: Any) -> str:
    return next(f.crossing.doc_id for f in firings(cost, budget, **kw) if f.rule.name == "warn")


@pytest.mark.parametrize("amount_type", LAST)
def test_a_revised_last_period_cost_is_the_same_crossing(amount_type: str) -> None:
    first = crossing(600, 812.34, amount_type=amount_type)
    assert crossing(600, 812.57, amount_type=amount_type) == first
    assert crossing(900, 790, amount_type=amount_type) == first
    assert crossing(600, 812.34, amount_type=amount_type, period_start="2026-12-01T08:00:00Z") != (
        first
    ), "a new period re-arms"


def test_a_changed_specified_amount_still_re_arms() -> None:
    assert crossing(600, 1000) != crossing(600, 1100)


def test_a_specified_amount_crossing_keeps_its_ledger_id() -> None:
    """Records written before this change are still found: the id of a SPECIFIED_AMOUNT crossing
    is the same hash of (budget, period, amount, rule, project)."""
    key = f"{BUDGET}|{PERIOD}|1000|warn|gemini-prod"
    assert crossing(600, 1000) == hashlib.sha256(key.encode()).hexdigest()[:40]


@pytest.mark.parametrize("amount_type", ["SPECIFIED_AMOUNT", *LAST])
def test_any_spend_over_a_zero_budget_crosses_every_actual_threshold(amount_type: str) -> None:
    fired = firings(5000, 0, amount_type=amount_type)
    assert [f.rule.name for f in fired] == ["warn", "stop"]  # every actual rule, no forecast one
    assert "zero budget" in fired[0].reason and amount_type in fired[0].reason
    assert firings(0.01, 0, amount_type=amount_type)  # a cent is spend
    assert firings(0, 0, amount_type=amount_type) == []  # nothing spent: nothing crossed


@pytest.mark.usefixtures("guard_env")
def test_after_a_restore_a_revised_last_month_cost_does_not_unlink_again(
    standin: StandIn,
) -> None:
    ledger = MemoryLedger()
    rules = [{"name": "stop", "threshold": 1.0, "basis": "actual", "actions": ["disable_billing"]}]
    guard = Guard(
        parse_policy(policy_doc(rules=rules)), lambda: ledger, Logger(stream=io.StringIO())
    )

    guard.handle(event(900, 812.34, "m-1", amount_type="LAST_MONTH_COST"))
    assert standin.state["projects"]["gemini-prod"]["billing_account"] == ""
    with standin.world.lock:  # the operator restores billing
        standin.world.projects["gemini-prod"].billing_account = f"billingAccounts/{ACCOUNT}"

    results = guard.handle(event(950, 812.57, "m-2", amount_type="LAST_MONTH_COST"))

    assert results == [{"crossing": results[0]["crossing"], "duplicate": True}]
    assert standin.state["projects"]["gemini-prod"]["billing_account"].endswith(ACCOUNT)
    assert len([c for c in standin.calls(UPDATE) if c["status"] == 200]) == 1


@pytest.mark.usefixtures("guard_env")
def test_spend_on_a_zero_last_month_cost_budget_unlinks_billing(standin: StandIn) -> None:
    """A new project whose last month cost nothing: $5,000 of spend brakes, not only a WARNING."""
    ledger = MemoryLedger()
    rules = [{"name": "stop", "threshold": 1.0, "basis": "actual", "actions": ["disable_billing"]}]
    guard = Guard(
        parse_policy(policy_doc(rules=rules)), lambda: ledger, Logger(stream=io.StringIO())
    )

    guard.handle(event(5000, 0, amount_type="LAST_MONTH_COST"))

    assert standin.state["projects"]["gemini-prod"]["billing_account"] == ""
    (record,) = ledger.records(rule="stop")
    assert record["actions"]["disable_billing"]["status"] == "done"
    assert "zero budget" in record["reason"]
