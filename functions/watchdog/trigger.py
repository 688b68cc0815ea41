"""What the watchdog hands the executor: the same ``Notification`` a budget message becomes.

The executor, the ledger and ``notify`` take a ``Notification``; the watchdog fills one per
budget from its tick, so every firing goes through the same claim, actions and audit trail. The
differences are in the data: ``message_id`` is ``watchdog-<tick>`` (a redelivered tick is the same
message), ``cost_amount`` is the watchdog's period-to-date estimate, ``budget_amount`` the policy's
``amount`` (0 when the budget has none), ``budget_display_name`` says it is an estimate, and each
``Firing`` carries ``source="watchdog"`` with the estimate in its reason. Pure.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from functions.notification import SCHEMA_VERSION, Notification
from functions.policy import Policy
from functions.watchdog import spend

__all__ = ["tick_id", "tick_notification"]


def tick_id(now: datetime) -> str:
    """The message id of a tick: its publish time to the second."""
    return "watchdog-" + now.strftime("%Y%m%dT%H%M%SZ")


def tick_notification(
    policy: Policy, budget_id: str, estimate: Decimal, now: datetime, currency: str
) -> Notification:
    budget = policy.budgets[budget_id]
    return Notification(
        message_id=tick_id(now),
        billing_account_id=policy.billing_account,
        budget_id=budget_id,
        schema_version=SCHEMA_VERSION,
        budget_display_name=f"usage watchdog estimate for budget {budget_id}",
        cost_amount=estimate,
        cost_interval_start=spend.budget_period_start(now, budget.calendar_period),
        budget_amount=budget.amount or Decimal(0),
        budget_amount_type="SPECIFIED_AMOUNT",
        currency_code=currency,
        publish_time=now,
    )
