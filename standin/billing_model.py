"""Cloud Billing as a simulation sees it: cost accrues per accepted Gemini request, and budget
notifications report it late and now and then.

Owns the cost of usage (the shipped price table, ``functions/data/prices.json``, converted into
the budget's currency) and the schedule of budget notifications. Two delays, both settable:

- ``lag_minutes``: cost incurred at minute *t* is in the reported ``costAmount`` only from
  *t* + lag on. Default 300 (5 h): Google says cost data arrives "with a delay of hours", a
  victim's $10 alert came 5 h late (r/googlecloud, USAGE.md §1) and another's anomaly alert
  "hours" after a €54k day; see docs/SIMULATION.md.
- ``cadence_minutes`` (low, high): the gap between two notifications, drawn uniformly from a
  seeded generator. Default (20, 60): Cloud Billing sends budget notifications "multiple times
  per day", observed every 20 to 60 minutes (cloud.google.com/billing/docs/how-to/
  budgets-programmatic-notifications; DOMAIN.md §2).

Each notification is :class:`functions.alerts.Alert` (the wire format the guard parses):
``costAmount`` the reported month-to-date cost, ``alertThresholdExceeded`` the highest of the
budget's thresholds it has reached (absent below the first), no forecast. Deterministic: same
settings and usage, same notifications.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from functions.alerts import Alert
from functions.prices import Prices, load_prices
from standin.gemini import Usage

__all__ = ["BillingModel", "BillingSettings", "BudgetSpec"]


@dataclass(frozen=True)
class BillingSettings:
    lag_minutes: int = 300
    cadence_minutes: tuple[int, int] = (20, 60)
    seed: int = 1


@dataclass(frozen=True)
class BudgetSpec:
    """The budget the notifications are about."""

    billing_account: str
    budget_id: str
    amount: Decimal
    currency: str = "USD"
    thresholds: tuple[Decimal, ...] = (Decimal("0.5"), Decimal("0.9"), Decimal("1.0"))
    period_start: str = "2026-11-01T00:00:00Z"
    opening_cost: Decimal = Decimal(0)  # spent in the period before the simulation starts
    per_usd: Decimal = Decimal(1)  # budget currency per USD of the price table


class BillingModel:
    """Accrues cost (a :data:`standin.gemini.Sink`) and says which notifications are due."""

    def __init__(
        self,
        budget: BudgetSpec,
        start: datetime,
        settings: BillingSettings | None = None,
        prices: Prices | None = None,
    ) -> None:
        self.budget = budget
        self.settings = settings or BillingSettings()
        self.prices = prices or load_prices()
        self._random = random.Random(self.settings.seed)
        self._cost_by_minute: dict[datetime, Decimal] = defaultdict(Decimal)
        self.cost_by_key: dict[str, dict[datetime, Decimal]] = defaultdict(
            lambda: defaultdict(Decimal)
        )
        self._next = start + self._gap()
        self._sent = 0

    def __call__(self, usage: Usage) -> None:
        """Accrue the cost of accepted, billed requests."""
        if usage.code != 200 or not usage.billed or not usage.requests:
            return
        cost = self.cost(usage)
        self._cost_by_minute[usage.minute] += cost
        self.cost_by_key[usage.key_uid][usage.minute] += cost

    def cost(self, usage: Usage) -> Decimal:
        price, _known = self.prices.lookup(usage.model, usage.minute.date())
        long_context = usage.input_tokens // usage.requests > self.prices.long_context_tokens
        usd = price.cost(usage.input_tokens, usage.output_tokens, long_context)
        return usd * self.budget.per_usd

    def _gap(self) -> timedelta:
        low, high = self.settings.cadence_minutes
        return timedelta(minutes=self._random.randint(low, high))

    def reported(self, at: datetime) -> Decimal:
        """Month-to-date cost as Cloud Billing reports it at ``at`` (usage older than the lag)."""
        cutoff = at - timedelta(minutes=self.settings.lag_minutes)
        seen = sum((c for m, c in self._cost_by_minute.items() if m < cutoff), Decimal(0))
        return self.budget.opening_cost + seen

    def incurred(self, until: datetime | None = None) -> Decimal:
        """What the usage really cost so far (no lag), from the model's start."""
        return sum(
            (c for m, c in self._cost_by_minute.items() if until is None or m < until), Decimal(0)
        )

    def due(self, now: datetime) -> list[tuple[datetime, Alert]]:
        """Every notification sent at or before ``now`` and not yet returned, oldest first."""
        out = []
        while self._next <= now:
            out.append((self._next, self._alert(self._next)))
            self._next += self._gap()
        return out

    def _alert(self, at: datetime) -> Alert:
        cost = self.reported(at).quantize(Decimal("0.01"))
        ratio = cost / self.budget.amount
        crossed = [t for t in self.budget.thresholds if ratio >= t]
        self._sent += 1
        return Alert(
            billing_account_id=self.budget.billing_account,
            budget_id=self.budget.budget_id,
            cost=cost,
            budget=self.budget.amount,
            period_start=self.budget.period_start,
            currency=self.budget.currency,
            alert_threshold=max(crossed) if crossed else None,
        )
