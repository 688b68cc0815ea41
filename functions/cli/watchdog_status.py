"""The usage watchdog's part of ``status``: last tick, estimate per budget and project, and the
last reconciliation with a budget notification (from ``watchdog/*`` next to the ledger)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.cli.output import Output, table
from functions.policy import Policy

__all__ = ["render", "watchdog_doc"]


def watchdog_doc(policy: Policy, now: datetime | None = None) -> dict[str, Any] | None:
    """What status shows of the watchdog; None when the policy has no watchdog section."""
    if policy.watchdog is None:
        return None
    from functions.watchdog.state import FirestoreWatchdogStore

    store = FirestoreWatchdogStore(policy.ledger)
    state = store.state()
    now = now or datetime.now(UTC)
    late = timedelta(minutes=3 * policy.watchdog.interval_minutes)
    report = state.report
    return {
        "last_tick": report.get("tick"),
        "stale": state.last_tick is None or now - state.last_tick > late,
        "period": report.get("period"),
        "budgets": report.get("budgets") or {},
        "reconciliation": {b: store.reconciliation(b) for b in policy.budgets},
    }


def render(doc: dict[str, Any] | None, out: Output) -> None:
    if doc is None:
        return
    out.say()
    if doc["last_tick"] is None:
        out.say("usage watchdog: no tick recorded yet")
        return
    stale = " (STALE: no tick for 3 intervals; check the Scheduler job)" if doc["stale"] else ""
    out.say(f"usage watchdog: last tick {doc['last_tick']}{stale}, period {doc['period']}")
    for budget_id, b in doc["budgets"].items():
        amount = f" of {b['amount']}" if b.get("amount") else ""
        out.say(f"  budget {budget_id}: estimate {_money(b['estimate'])}{amount} {b['currency']}")
        rows = [[f"    {p}", _money(v)] for p, v in b["projects"].items()]
        out.lines(table(rows))
        rec = doc["reconciliation"].get(budget_id)
        if rec:
            flag = "  SHORT: the estimate is below the bill" if rec.get("short") else ""
            out.say(
                f"    last reconciliation {rec.get('at', '')[:19]}: billed {rec['cost_amount']}, "
                f"estimate {_money(rec['estimate'])}, ratio {rec['ratio']}{flag}"
            )


def _money(value: Any) -> str:
    return format(Decimal(str(value)).quantize(Decimal("0.01")), "f")
