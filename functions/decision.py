"""Decision: which rules fire for which projects. Pure: no I/O, no clock.

An ``actual`` rule fires when costAmount / budgetAmount >= threshold; a ``forecast`` rule fires
when forecastThresholdExceeded >= threshold. A budget amount of 0 (a ``LAST_MONTH_COST`` budget
whose last month cost nothing, or a budget set to 0) is real: any spend above 0 crosses every
actual threshold, and no spend crosses none.

Each firing carries its crossing: the key under which the ledger lets it act once. A crossing is
(budget, period, arming, rule, project), so a new period re-arms every rule. The arming is
``ARMING[budgetAmountType]`` of the notification:
  - ``SPECIFIED_AMOUNT``: the amount, the user's choice: raising or lowering it re-arms the rules
    at the new amount;
  - ``LAST_MONTH_COST``, ``LAST_PERIODS_COST``: the type itself. The amount is last period's cost,
    which Cloud Billing revises by cents as late charges arrive (812.34 -> 812.57): not the
    user's choice, so within a period a revision never re-arms a rule (nor undoes a restore).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext

from functions.notification import Notification
from functions.policy import Policy, Rule

__all__ = ["ARMING", "Crossing", "Firing", "decide", "fires", "reason"]

# budgetAmountType -> what re-arms a rule within a period (module docstring).
ARMING = {"SPECIFIED_AMOUNT": "amount", "LAST_MONTH_COST": "type", "LAST_PERIODS_COST": "type"}


@dataclass(frozen=True)
class Crossing:
    """The identity of one threshold crossing: the ledger acts once per crossing."""

    budget_id: str
    period: str
    budget_amount: str
    rule: str
    project: str
    dry_run: bool = False
    amount_type: str = "SPECIFIED_AMOUNT"

    @property
    def arming(self) -> str:
        """What, besides the period, re-arms the rule: the amount or the amount type."""
        return self.budget_amount if ARMING[self.amount_type] == "amount" else self.amount_type

    @property
    def doc_id(self) -> str:
        """A stable ledger document id (Firestore ids must not contain '/')."""
        parts = (self.budget_id, self.period, self.arming, self.rule, self.project)
        key = "|".join(parts) + ("|dry-run" if self.dry_run else "")
        return hashlib.sha256(key.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Firing:
    """A rule that fires for one project, with its crossing and the human reason."""

    rule: Rule
    project: str
    crossing: Crossing
    reason: str
    protected: bool


def fires(rule: Rule, n: Notification) -> bool:
    """True when ``rule`` is at or past its threshold for this notification."""
    if rule.basis == "actual":
        if n.budget_amount == 0:
            return n.cost_amount > 0
        return n.cost_amount >= rule.threshold * n.budget_amount
    return (
        n.forecast_threshold_exceeded is not None
        and n.forecast_threshold_exceeded >= rule.threshold
    )


def _percent(value: Decimal) -> str:
    return f"{(value * 100).normalize():f}%"


# Enough digits for any ratio of two valid amounts (below 1e15 over at least 1e-9: under 1e24)
# quantized to 4 places: the default 28 would raise InvalidOperation.
_REASON_CONTEXT = Context(prec=60)


def reason(rule: Rule, n: Notification) -> str:
    """Why ``rule`` fires, in words an operator reads in the audit trail."""
    if rule.basis == "actual" and n.budget_amount == 0:
        return (
            f"actual spend {n.cost_amount} {n.currency_code} of a zero budget "
            f"({n.budget_amount_type}): any spend above 0 crosses every threshold, "
            f">= {_percent(rule.threshold)}"
        )
    if rule.basis == "actual":
        with localcontext(_REASON_CONTEXT):
            ratio = _percent(n.spend_ratio.quantize(Decimal("0.0001")))
        return (
            f"actual spend {n.cost_amount} {n.currency_code} of budget {n.budget_amount} "
            f"= {ratio} >= {_percent(rule.threshold)}"
        )
    assert n.forecast_threshold_exceeded is not None
    return (
        f"forecast exceeds {_percent(n.forecast_threshold_exceeded)} of budget "
        f"{n.budget_amount} {n.currency_code} >= {_percent(rule.threshold)}"
    )


def decide(n: Notification, policy: Policy) -> list[Firing]:
    """Every (rule, project) that fires for ``n``, in the policy's rule order."""
    budget = policy.budgets[n.budget_id]
    amount = format(n.budget_amount.normalize(), "f")
    firings = []
    for rule in policy.rules:
        if not fires(rule, n):
            continue
        why = reason(rule, n)
        for project in budget.projects:
            crossing = Crossing(
                n.budget_id,
                n.period,
                amount,
                rule.name,
                project,
                policy.dry_run,
                n.budget_amount_type,
            )
            firings.append(Firing(rule, project, crossing, why, policy.is_protected(project)))
    return firings
