"""``plan``: which rules fire for a spend, for which projects, and which actions would run.

The spend becomes a notification exactly as Cloud Billing would send it (``functions.alerts``),
parsed and decided by the same code the guard runs. Nothing is called: no network, no ledger, no
side effects. What the executor would do with each action is shown as it would record it: ``run``,
``would_run`` (the policy is in dry run) or ``skipped`` (a mutating action on a protected project).
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from typing import Any

from functions.actions import REGISTRY
from functions.alerts import Alert
from functions.cli.common import UsageError, add_common, amount, current_period, load, period, ratio
from functions.cli.output import Output, number, percent, table
from functions.decision import Firing, decide
from functions.errors import MalformedMessage, SpoofedMessage
from functions.notification import Notification, parse
from functions.policy import Policy

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "outcome", "run"]

HELP = "which rules fire and which actions would run for a spend (no network)"
DESCRIPTION = """\
Show which rules of the policy fire for a spend, for which projects, and which actions the guard
would run. Nothing is called and nothing is written.

Give the spend either as amounts:
  budget-guard plan --spend 120 --budget 100 [--forecast 1.5] [--budget-id ID] [--period T]
or as a notification file:
  budget-guard plan --notification message.json

The notification file holds one Pub/Sub message as JSON, the way Pub/Sub delivers it:
  {"data": "<base64 of the notification JSON>",
   "attributes": {"billingAccountId": ..., "budgetId": ..., "schemaVersion": "1.0"},
   "messageId": ..., "publishTime": ...}
A push body, or one entry of `gcloud pubsub subscriptions pull --format=json`, wraps it in
{"message": {...}}; that wrapper is accepted too. messageId and publishTime are optional.
"""

PLAN_MESSAGE_ID = "plan"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    spend = parser.add_argument_group("spend as amounts")
    spend.add_argument(
        "--spend", type=amount, metavar="AMOUNT", help="the cost so far this period (costAmount)"
    )
    spend.add_argument(
        "--budget", type=amount, metavar="AMOUNT", help="the budget amount (budgetAmount)"
    )
    spend.add_argument(
        "--forecast",
        type=ratio,
        metavar="RATIO",
        help="forecastThresholdExceeded, a fraction of the budget (1.5 = 150 %%)",
    )
    spend.add_argument(
        "--budget-id", metavar="ID", help="the budget (default: the policy's only budget)"
    )
    spend.add_argument(
        "--period",
        type=period,
        metavar="RFC3339",
        help="costIntervalStart, the start of the budget period (default: this month's)",
    )
    spend.add_argument(
        "--currency", metavar="CODE", help="currencyCode (default: the budget's, else USD)"
    )
    parser.add_argument(
        "--notification",
        metavar="FILE",
        help="a Pub/Sub message JSON file instead of amounts (see above)",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    policy = load(args.policy)
    assert policy is not None
    n = _notification(args, policy)
    firings = decide(n, policy)
    doc = result(n, policy, firings)
    render(doc, out)
    out.document(doc)
    return 0


# --- the notification ---------------------------------------------------------------------------


def _notification(args: argparse.Namespace, policy: Policy) -> Notification:
    amounts = ("spend", "budget", "forecast", "budget_id", "period", "currency")
    if args.notification is not None:
        given = [
            f"--{name.replace('_', '-')}" for name in amounts if getattr(args, name) is not None
        ]
        if given:
            raise UsageError(f"--notification cannot be combined with {', '.join(given)}")
        return _from_file(args.notification, policy)
    if args.spend is None or args.budget is None:
        raise UsageError("give --spend and --budget, or --notification FILE")
    if args.budget <= 0:
        raise UsageError("--budget must be greater than zero")
    budget_id = args.budget_id or _only_budget(policy)
    budget = policy.budgets.get(budget_id)
    if budget is None:
        raise UsageError(
            f"--budget-id {budget_id} is not a budget in the policy (budgets: "
            f"{', '.join(policy.budgets)})"
        )
    alert = Alert(
        billing_account_id=policy.billing_account,
        budget_id=budget_id,
        cost=args.spend,
        budget=args.budget,
        period_start=args.period or current_period(),
        currency=args.currency or budget.currency or "USD",
        forecast_threshold=args.forecast,
    )
    message = alert.message(PLAN_MESSAGE_ID)
    del message["publishTime"]  # a planned period may lie in the future
    try:
        return parse(message, policy.billing_account, policy.budgets)
    except (MalformedMessage, SpoofedMessage) as exc:
        raise UsageError(
            f"these amounts do not make a notification the guard accepts: {exc}"
        ) from None


def _only_budget(policy: Policy) -> str:
    if len(policy.budgets) == 1:
        return next(iter(policy.budgets))
    raise UsageError(
        f"the policy has {len(policy.budgets)} budgets: choose one with --budget-id "
        f"({', '.join(policy.budgets)})"
    )


def _from_file(path: str, policy: Policy) -> Notification:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None
    if isinstance(doc, dict) and isinstance(doc.get("message"), dict):
        doc = doc["message"]
    if not isinstance(doc, dict):
        raise UsageError(f"{path} must hold one Pub/Sub message object (see plan --help)")
    doc = {"messageId": PLAN_MESSAGE_ID, **doc}
    try:
        return parse(doc, policy.billing_account, policy.budgets)
    except MalformedMessage as exc:
        raise UsageError(f"{path} is not a budget notification the guard accepts: {exc}") from None
    except SpoofedMessage as exc:
        raise UsageError(f"the guard would ignore {path} (spoofed): {exc}") from None


# --- the plan -----------------------------------------------------------------------------------


def outcome(policy: Policy, firing: Firing, action_name: str) -> tuple[str, str]:
    """What the executor would record for this action: (status, why), without running it."""
    action = REGISTRY[action_name]
    if policy.dry_run:
        return "would_run", "dry run: recorded, not run"
    if firing.protected and action.mutates:
        return "skipped", f"{firing.project} is protected"
    return "run", action.summary


def result(n: Notification, policy: Policy, firings: list[Firing]) -> dict[str, Any]:
    """The plan as data: the notification, every rule, each firing rule's projects and actions."""
    rules = []
    for rule in policy.rules:
        mine = [f for f in firings if f.rule.name == rule.name]
        projects = []
        for firing in mine:
            actions = []
            for name in rule.actions:
                status, why = outcome(policy, firing, name)
                cls = REGISTRY[name]
                actions.append(
                    {
                        "name": name,
                        "outcome": status,
                        "why": why,
                        "mutates": cls.mutates,
                        "permissions": sorted(cls.permissions),
                    }
                )
            projects.append(
                {
                    "project": firing.project,
                    "protected": firing.protected,
                    "crossing": firing.crossing.doc_id,
                    "actions": actions,
                }
            )
        rules.append(
            {
                "rule": rule.name,
                "basis": rule.basis,
                "threshold": rule.threshold,
                "fires": bool(mine),
                "reason": mine[0].reason if mine else None,
                "projects": projects,
            }
        )
    return {
        "notification": {
            "budget_id": n.budget_id,
            "budget_display_name": n.budget_display_name,
            "period": n.period,
            "cost_amount": n.cost_amount,
            "budget_amount": n.budget_amount,
            "currency": n.currency_code,
            "spend_ratio": n.spend_ratio.quantize(Decimal("0.0001"))
            if n.spend_ratio.is_finite()
            else n.spend_ratio,
            "forecast_threshold_exceeded": n.forecast_threshold_exceeded,
        },
        "dry_run": policy.dry_run,
        "fires": bool(firings),
        "rules": rules,
    }


def render(doc: dict[str, Any], out: Output) -> None:
    n = doc["notification"]
    forecast = n["forecast_threshold_exceeded"]
    out.say(f"budget {n['budget_id']} ({n['budget_display_name']}), period {n['period']}")
    out.say(
        f"spend {number(n['cost_amount'])} {n['currency']} of {number(n['budget_amount'])} = "
        f"{percent(n['spend_ratio'])}"
        + (f"; forecast {percent(forecast)}" if forecast is not None else "; no forecast")
        + (
            "; policy in DRY RUN: actions are recorded as would_run, none runs"
            if doc["dry_run"]
            else ""
        )
    )
    out.say()
    counts = {"run": 0, "would_run": 0, "skipped": 0}
    for rule in doc["rules"]:
        head = f"rule {rule['rule']} ({rule['basis']} >= {percent(rule['threshold'])}):"
        if not rule["fires"]:
            no_forecast = rule["basis"] == "forecast" and forecast is None
            out.say(
                f"{head} not reached"
                + (" (the notification has no forecast)" if no_forecast else "")
            )
            continue
        out.say(f"{head} FIRES: {rule['reason']}")
        rows = []
        for project in rule["projects"]:
            label = project["project"] + (" (protected)" if project["protected"] else "")
            for action in project["actions"]:
                counts[action["outcome"]] += 1
                rows.append([label, action["name"], action["outcome"], action["why"]])
                label = ""
        out.lines(table(rows, indent="  "))
    out.say()
    if not doc["fires"]:
        out.say("nothing fires: the guard would log this notification quietly")
        return
    out.say(
        f"{counts['run']} action(s) would run, {counts['would_run']} would be recorded as "
        "would_run, "
        f"{counts['skipped']} skipped on protected projects."
    )
    out.say(
        "No call was made. The guard acts once per crossing: one already in the ledger would not "
        "act again."
    )
