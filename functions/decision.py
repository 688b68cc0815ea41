"""Decision: which rules fire for which projects. Pure: no I/O, no clock.

Only the rules on a budget basis are evaluated here; ``estimate``, ``rate`` and ``baseline``
rules are the usage watchdog's (functions/watchdog/rules.py). An ``actual`` rule fires when
costAmount / budgetAmount >= threshold; a ``forecast`` rule fires when
forecastThresholdExceeded >= threshold. Each firing carries its crossing: the key under which
the ledger lets it act once. A crossing is (budget, period, budget amount, rule, project), so a new
period re-arms every rule and a changed budget amount re-arms them at the new amount.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from functions.notification import Notification
from functions.policy import Policy, Rule

__all__ = ["Crossing", "Firing", "decide", "fires", "reason"]


@dataclass(frozen=True)
class Crossing:
    """The identity of one threshold crossing: the ledger acts once per crossing."""

    budget_id: str
    period: str
    budget_amount: str
    rule: str
    project: str
    dry_run: bool = False
    # What in the project it is about, when not the whole project: "key:<uid>" (a leaked key,
    # a key over a per-key rate), so each key is acted on once. "": the project.
    subject: str = ""

    @property
    def doc_id(self) -> str:
        """A stable ledger document id (Firestore ids must not contain '/')."""
        parts = (self.budget_id, self.period, self.budget_amount, self.rule, self.project)
        key = "|".join(parts) + (f"|{self.subject}" if self.subject else "")
        key += "|dry-run" if self.dry_run else ""
        return hashlib.sha256(key.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Firing:
    """A rule that fires for one project, with its crossing and the human reason."""

    rule: Rule
    project: str
    crossing: Crossing
    reason: str
    protected: bool
    # What produced it: "budget" (a budget notification) or "watchdog" (the usage estimate).
    source: str = "budget"
    # The API key names this firing is about (a leaked key, the keys over a per-key rate), for
    # the actions that act on exactly those (``revoke_offending_keys``); empty for budget rules.
    targets: tuple[str, ...] = ()


def fires(rule: Rule, n: Notification) -> bool:
    """True when ``rule`` is at or past its threshold for this notification."""
    if not rule.from_budget or rule.threshold is None:
        return False  # the usage watchdog's rules (functions/watchdog/rules.py)
    if rule.basis == "actual":
        return n.cost_amount >= rule.threshold * n.budget_amount
    return (
        n.forecast_threshold_exceeded is not None
        and n.forecast_threshold_exceeded >= rule.threshold
    )


def _percent(value: Decimal) -> str:
    return f"{(value * 100).normalize():f}%"


def reason(rule: Rule, n: Notification) -> str:
    """Why ``rule`` fires, in words an operator reads in the audit trail."""
    assert rule.threshold is not None
    if rule.basis == "actual":
        return (
            f"actual spend {n.cost_amount} {n.currency_code} of budget {n.budget_amount} "
            f"= {_percent(n.spend_ratio.quantize(Decimal('0.0001')))} >= {_percent(rule.threshold)}"
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
            crossing = Crossing(n.budget_id, n.period, amount, rule.name, project, policy.dry_run)
            firings.append(Firing(rule, project, crossing, why, policy.is_protected(project)))
    return firings
