"""``status``: what the guard did this period, from the ledger.

Per budget and project: each crossing (rule, threshold, budget amount, state), each action's
outcome and attempts, any restore, and what is still pending: a crossing still ``open`` or an
action not settled (pending, failed, retrying). The period is ``--period`` or, by default, the
latest period in the ledger. With a usage watchdog: its last tick, the estimate per budget and
project, and the last reconciliation with a budget notification. Read-only; exit 0 whatever the
guard did, 1 when the ledger cannot be read, 2 for a bad policy.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from functions.cli import keys_status
from functions.cli.common import (
    add_common,
    latest_period,
    load,
    open_ledger,
    pending_actions,
    period,
)
from functions.cli.output import Output, percent, table
from functions.cli.watchdog_status import render as render_watchdog
from functions.cli.watchdog_status import watchdog_doc

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "crossing", "run"]

HELP = "this period's crossings from the ledger: actions taken, outcomes, what is pending"
DESCRIPTION = __doc__.split("\n", 1)[1].replace("``", "") if __doc__ else ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument(
        "--period",
        type=period,
        metavar="RFC3339",
        help="the budget period (default: the latest in the ledger)",
    )
    parser.add_argument("--budget-id", metavar="ID", help="only this budget")
    parser.add_argument("--project", metavar="PROJECT", help="only this project")


def run(args: argparse.Namespace, out: Output) -> int:
    policy = load(args.policy)
    assert policy is not None
    ledger = open_ledger(policy)
    filters = {k: v for k, v in (("budget_id", args.budget_id), ("project", args.project)) if v}
    records = ledger.records(**filters)
    periods = sorted({r["period"] for r in records if r.get("period")})
    chosen = args.period or latest_period(records)
    mine = sorted(
        (r for r in records if r.get("period") == chosen),
        key=lambda r: (
            r.get("budget_id", ""),
            r.get("project", ""),
            _threshold(r),
            r.get("rule", ""),
        ),
    )
    order = {rule.name: rule.actions for rule in policy.rules}
    crossings = [crossing(r, order.get(r.get("rule", ""), ())) for r in mine]
    pending = [c for c in crossings if c["pending"]]
    doc = {
        "period": chosen,
        "periods": periods,
        "crossings": crossings,
        "pending": [
            {
                "budget_id": c["budget_id"],
                "project": c["project"],
                "rule": c["rule"],
                "actions": c["pending"],
            }
            for c in pending
        ],
    }
    watchdog = watchdog_doc(policy)
    doc["watchdog"] = watchdog
    render(doc, out)
    render_watchdog(watchdog, out)
    keys = keys_status.keys_doc(records)
    doc["keys"] = keys
    keys_status.render(keys, out)
    out.document(doc)
    return 0


def _threshold(record: dict[str, Any]) -> Decimal:
    try:
        return Decimal(str(record.get("threshold", "0")))
    except InvalidOperation:
        return Decimal(0)


def crossing(
    record: dict[str, Any], order: tuple[str, ...] = (), now: datetime | None = None
) -> dict[str, Any]:
    """One crossing record as status shows it; actions in the rule's ``order`` (Firestore
    does not keep the order of a map's keys)."""
    now = now or datetime.now(UTC)
    lease = record.get("lease_until")
    busy = bool(record.get("state") == "open" and lease and datetime.fromisoformat(lease) > now)
    actions = record.get("actions") or {}
    names = sorted(actions, key=lambda a: (order.index(a) if a in order else len(order), a))
    unsettled = [a for a in names if a in pending_actions(record)]
    if record.get("state") == "open" and not unsettled:
        unsettled = ["(crossing open)"]
    return {
        "budget_id": record.get("budget_id"),
        "period": record.get("period"),
        "budget_amount": record.get("budget_amount"),
        "project": record.get("project"),
        "protected": bool(record.get("protected", False)),
        "rule": record.get("rule"),
        "basis": record.get("basis"),
        "threshold": record.get("threshold"),
        "dry_run": bool(record.get("dry_run", False)),
        "state": record.get("state"),
        "acting_now": busy,
        "reason": record.get("reason"),
        "claimed_at": record.get("claimed_at"),
        "updated_at": record.get("updated_at"),
        "message_ids": list(record.get("message_ids") or []),  # the deliveries that acted
        "actions": {
            name: {
                "status": entry.get("status"),
                "detail": entry.get("detail", ""),
                "attempts": entry.get("attempts", 0),
            }
            for name, entry in ((a, actions[a]) for a in names)
        },
        "restored_at": record.get("restored_at"),
        "restored_by": record.get("restored_by"),
        "pending": unsettled,
    }


def render(doc: dict[str, Any], out: Output) -> None:
    if doc["period"] is None:
        out.say(
            "no crossings in the ledger: the guard has not acted"
            + (" for this filter" if doc["periods"] else "")
        )
        return
    others = [p for p in doc["periods"] if p != doc["period"]]
    out.say(
        f"period {doc['period']}"
        + (f" (other periods in the ledger: {', '.join(others)})" if others else "")
    )
    if not doc["crossings"]:
        out.say("no crossings in this period")
        return
    budget = project = None
    for c in doc["crossings"]:
        if c["budget_id"] != budget:
            budget, project = c["budget_id"], None
            out.say()
            out.say(f"budget {budget}")
        if c["project"] != project:
            project = c["project"]
            out.say(f"  {project}" + (" (protected)" if c["protected"] else ""))
        threshold = _pct(c["threshold"]) if c["threshold"] not in (None, "None") else "amount"
        state = (
            c["state"]
            + (", acting now" if c["acting_now"] else "")
            + (", DRY RUN" if c["dry_run"] else "")
        )
        out.say(
            f"    rule {c['rule']} ({c['basis']} >= {threshold}) at budget {c['budget_amount']}: "
            f"{state}; "
            f"claimed {c['claimed_at']}"
        )
        if c["reason"]:
            out.say(f"      {c['reason']}")
        rows = [
            [name, a["status"], f"x{a['attempts']}", a["detail"]]
            for name, a in c["actions"].items()
        ]
        out.lines(table(rows, indent="      "))
        if c["restored_at"]:
            out.say(f"      restored {c['restored_at']} by {c['restored_by']}")
    out.say()
    if not doc["pending"]:
        out.say("nothing pending: every crossing is settled")
        return
    out.say(
        f"pending: {len(doc['pending'])} crossing(s) not settled (the next notification retries "
        "them)"
    )
    for p in doc["pending"]:
        out.say(f"  {p['project']} rule {p['rule']}: {', '.join(p['actions'])}")


def _pct(value: Any) -> str:
    try:
        return percent(Decimal(str(value)))
    except InvalidOperation:
        return str(value)
