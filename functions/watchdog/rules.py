"""The watchdog's rules: which ``estimate``, ``rate`` and ``baseline`` rules fire, per project.

Each firing carries a crossing the same ledger acts on once, like a budget notification's:

  estimate  (budget, period start, budget amount, rule, project): once per period, re-armed by a
            new period or a changed ``amount``, exactly like an ``actual`` rule.
  rate,     (budget, burst start minute, rule amount, rule, project): once per *burst*. A burst
  baseline  starts at the first tick whose window is hot (spend >= the rule's bar) and lasts while
            hot ticks follow each other less than ``window_minutes`` apart. It ends after a
            window of quiet, or when an operator restores its crossing (``restored_at`` on the
            ledger record): the next hot tick starts a new burst, whose window counts only the
            spend after the restore (on every tick until a window has passed since it), so a
            restore re-arms the rule without re-firing on the very spend that tripped it.
            Steady use below the bar never starts one.
A rate or baseline crossing is filed under the first budget (in policy order) listing the project,
so a project in two budgets is acted on once. Pure: the restore lookup is passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from functions.decision import Crossing, Firing
from functions.policy import Policy, Rule
from functions.watchdog import spend

__all__ = ["Burst", "Estimates", "Trailing", "Window", "evaluate", "iso", "money"]

Estimates = dict[str, dict[str, Decimal]]  # budget id -> project -> period-to-date estimate
Window = Callable[[str, int, "datetime | None"], Decimal]  # (project, minutes, since) -> spend
Trailing = Callable[[str], Decimal]  # project -> spend over the 7 billing days before today


@dataclass(frozen=True)
class Burst:
    """The current burst of one (rule, project): when it started, when it was last hot."""

    start: datetime
    last_hot: datetime
    since: datetime | None = None  # a restore: the window counts only spend from here on


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")).normalize(), "f")


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _percent(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.01')).normalize():f}%"


def _owner(policy: Policy, project: str) -> str:
    return next(b.id for b in policy.budgets.values() if project in b.projects)


def _estimate_firings(
    policy: Policy, rule: Rule, estimates: Estimates, now: datetime
) -> list[Firing]:
    firings = []
    for budget in policy.budgets.values():
        assert budget.amount is not None and rule.threshold is not None  # policy.py checks it
        period = iso(spend.budget_period_start(now, budget.calendar_period))
        total = sum(estimates.get(budget.id, {}).values(), Decimal(0))
        if total < rule.threshold * budget.amount:
            continue
        currency = budget.currency or "USD"
        why = (
            f"watchdog estimate {money(total)} {currency} of budget {_amount(budget.amount)} "
            f"= {_percent(total / budget.amount)} >= {_percent(rule.threshold)} "
            f"(period to date from Cloud Monitoring usage, tick {iso(now)})"
        )
        for project in budget.projects:
            crossing = Crossing(
                budget.id, period, _amount(budget.amount), rule.name, project, policy.dry_run
            )
            firings.append(
                Firing(rule, project, crossing, why, policy.is_protected(project), "watchdog")
            )
    return firings


def _bar(rule: Rule, project: str, trailing: Trailing) -> tuple[Decimal, str]:
    """The window spend at which ``rule`` is hot for ``project``, and how to say it."""
    assert rule.amount is not None and rule.window_minutes is not None
    if rule.basis == "rate":
        return rule.amount, f">= {_amount(rule.amount)}"
    assert rule.multiple is not None
    average = spend.trailing_average(trailing(project), rule.window_minutes)
    return max(rule.amount, rule.multiple * average), (
        f">= {_amount(rule.multiple)} x the trailing 7-day average {money(average)} "
        f"and >= {_amount(rule.amount)}"
    )


def _burst_firings(
    policy: Policy,
    rule: Rule,
    window_spend: Window,
    trailing: Trailing,
    now: datetime,
    bursts: dict[str, Burst],
    restored: Callable[[str], datetime | None],
) -> list[Firing]:
    assert rule.window_minutes is not None and rule.amount is not None
    firings = []
    window = timedelta(minutes=rule.window_minutes)
    projects = dict.fromkeys(p for b in policy.budgets.values() for p in b.projects)
    for project in projects:
        key = f"{rule.name}|{project}"
        budget_id = _owner(policy, project)
        current = bursts.get(key)
        since, restored_burst = None, None
        if current is not None:
            at = restored(_crossing(policy, rule, budget_id, project, current.start).doc_id)
            if at is not None:
                since, current, restored_burst = at, None, current
            elif now - current.last_hot >= window:
                current = None
            else:
                since = current.since
        spent = window_spend(project, rule.window_minutes, since)
        bar, said = _bar(rule, project, trailing)
        if spent < bar:
            if restored_burst is not None and since is not None and now - since < window:
                # Kept until the window no longer holds the spend from before the restore.
                bursts[key] = restored_burst
            elif current is None:
                bursts.pop(key, None)
            continue
        if current is None:
            burst = Burst(now, now, since)
        else:  # a redelivered tick is older than the last one: it never moves last_hot back
            burst = Burst(current.start, max(current.last_hot, now), since)
        bursts[key] = burst
        why = (
            f"watchdog estimate {money(spent)} {_currency(policy, budget_id)} in the last "
            f"{rule.window_minutes} minutes {said} "
            f"(burst since {iso(burst.start)}, tick {iso(now)})"
        )
        crossing = _crossing(policy, rule, budget_id, project, burst.start)
        firings.append(
            Firing(rule, project, crossing, why, policy.is_protected(project), "watchdog")
        )
    return firings


def _currency(policy: Policy, budget_id: str) -> str:
    return policy.budgets[budget_id].currency or "USD"


def _crossing(
    policy: Policy, rule: Rule, budget_id: str, project: str, start: datetime
) -> Crossing:
    assert rule.amount is not None
    return Crossing(budget_id, iso(start), _amount(rule.amount), rule.name, project, policy.dry_run)


def evaluate(
    policy: Policy,
    now: datetime,
    estimates: Estimates,
    window_spend: Window,
    trailing: Trailing,
    bursts: dict[str, Burst],
    restored: Callable[[str], datetime | None] = lambda _doc: None,
) -> dict[str, list[Firing]]:
    """Firings per budget id, in rule order; ``bursts`` is updated in place."""
    by_budget: dict[str, list[Firing]] = {}
    for rule in policy.rules:
        if rule.basis == "estimate":
            found = _estimate_firings(policy, rule, estimates, now)
        elif rule.basis in ("rate", "baseline"):
            found = _burst_firings(policy, rule, window_spend, trailing, now, bursts, restored)
        else:
            continue  # actual/forecast: budget notifications only
        for firing in found:
            by_budget.setdefault(firing.crossing.budget_id, []).append(firing)
    return by_budget
