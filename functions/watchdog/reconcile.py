"""Reconciliation: each budget notification checks the watchdog's estimate against the bill.

When a budget notification arrives (functions/handler.py), its ``costAmount`` is compared with
the estimate the last watchdog tick recorded for that budget and period (``watchdog/state``):
``ratio = estimate / costAmount``, recorded in ``watchdog/reconcile-<budget id>`` and logged at
INFO (``watchdog reconciliation``). An estimate below the billed cost by more than
``reconcile_tolerance`` (default 0.2: ratio < 0.8) is an ERROR (unless the watchdog started
counting after the period began: then the record says ``complete: false``), so the guard's
alert on ERROR logs pages someone: an under-estimating watchdog is the dangerous direction.
The budget counts every service of its projects, the estimate only Gemini tokens: a budget
filtered to the Gemini API service is the one to compare (README). Never raises: a failure
here is one WARNING, and the notification's own handling is not affected.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from functions.log import Logger
from functions.notification import Notification
from functions.policy import Policy
from functions.watchdog.state import WatchdogStore

__all__ = ["reconcile"]


def _compare(n: Notification, report: dict[str, Any], tolerance: Decimal) -> dict[str, Any] | None:
    budget = (report.get("budgets") or {}).get(n.budget_id)
    if not budget or budget.get("period", report.get("period")) != n.period:
        return None
    estimate = Decimal(budget["estimate"])
    # Deployed mid-period: the watchdog has not seen the period's start, so its estimate is short
    # by construction; compare, record, but do not page.
    complete = str(report.get("counting_since") or "") <= n.period
    ratio = (estimate / n.cost_amount).quantize(Decimal("0.0001")) if n.cost_amount > 0 else None
    return {
        "budget_id": n.budget_id,
        "period": n.period,
        "message_id": n.message_id,
        "cost_amount": format(n.cost_amount.normalize(), "f"),
        "estimate": format(estimate.normalize(), "f"),
        "estimate_tick": report.get("tick"),
        "ratio": None if ratio is None else format(ratio.normalize(), "f"),
        "complete": complete,
        "short": complete and ratio is not None and ratio < 1 - tolerance,
        "tolerance": str(tolerance),
        "currency": n.currency_code,
        "at": datetime.now(UTC).isoformat(),
    }


def reconcile(
    n: Notification, policy: Policy, store: Callable[[], WatchdogStore], log: Logger
) -> dict[str, Any] | None:
    """Compare, record and log; None when there is no estimate for this budget and period."""
    if policy.watchdog is None:
        return None
    log = log.bind(budget=n.budget_id, message_id=n.message_id)
    try:
        target = store()
        record = _compare(n, target.state().report, policy.watchdog.reconcile_tolerance)
        if record is None:
            log.info("watchdog reconciliation: no estimate for this budget and period")
            return None
        target.put_reconciliation(n.budget_id, record)
    except Exception as exc:  # never in the way of the notification's own handling
        log.warning(f"watchdog reconciliation failed: {type(exc).__name__}: {exc}")
        return None
    keys = ("period", "cost_amount", "estimate", "ratio", "currency", "complete")
    fields = {k: record[k] for k in keys}
    if record["short"]:
        log.error(
            f"watchdog estimate {record['estimate']} is below the billed cost "
            f"{record['cost_amount']} by more than {float(record['tolerance']):.0%}: "
            "the watchdog under-estimates",
            remedy="check the price table (functions/data/prices.json), the metrics scope and "
            "the budget's services: the estimate counts Gemini tokens only",
            **fields,
        )
    else:
        log.info("watchdog reconciliation", **fields)
    return record
