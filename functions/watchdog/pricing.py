"""Usage -> money: each per-minute token bucket priced with the dated table (functions/prices.py).

Owns the watchdog's pricing rules, all on the safe side:
  - the price in force on the bucket minute's (UTC) date;
  - input tokens at the uncached rate: Monitoring's input counts include cached tokens and there
    is no metric for them, so this over-estimates a cache-heavy workload (an early warning, not a
    bill);
  - the short-context rate: per-minute sums cannot tell a >200k-token prompt apart, and the long
    tier only applies per request; the estimate can under-run there (documented in the README);
  - a model the table does not know at the policy's ``unknown_model_rate`` (default: the dearest
    known rate on each axis), never 0, and named so the tick logs it once.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from functions.prices import Prices
from functions.watchdog.config import UnknownRate
from functions.watchdog.usage import TokenUsage

__all__ = ["Priced", "price", "prices_for"]


@dataclass
class Priced:
    """Cost per (project, bucket minute), and the model names the table did not know."""

    cost: dict[tuple[str, datetime], Decimal] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)

    def minutes(self, project: str) -> dict[datetime, Decimal]:
        return {m: c for (p, m), c in self.cost.items() if p == project}


def prices_for(table: Prices, unknown: UnknownRate | None) -> Prices:
    """The table with the policy's unknown-model rate, when the policy sets one."""
    return table if unknown is None else table.with_unknown(unknown.input, unknown.output)


def price(rows: Iterable[TokenUsage], prices: Prices) -> Priced:
    """Price every bucket; rows for the same (project, model, minute) must not repeat."""
    priced = Priced()
    for row in rows:
        rate, known = prices.lookup(row.model, row.minute.date())
        if not known:
            priced.unknown.add(row.model)
        key = (row.project, row.minute)
        cost = rate.cost(row.input_tokens, row.output_tokens)
        priced.cost[key] = priced.cost.get(key, Decimal(0)) + cost
    return priced
