"""``send-test-alert``: publish a well-formed budget notification to a topic.

The message is built by ``functions.alerts.Alert``: attributes and data exactly as Cloud Billing
sends them. It goes to a real topic (the caller's credentials need pubsub.topics.publish) or to
the Pub/Sub emulator when ``PUBSUB_EMULATOR_HOST`` is set. Use it to exercise a deployment, for
example while the policy is in dry run; the billing account and budget id default to the policy's
(its only budget), when a policy is given. Prints the message id.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from functions import gcp
from functions.alerts import Alert
from functions.cli.common import UsageError, add_common, amount, current_period, load, period, ratio
from functions.cli.output import Output
from functions.errors import MalformedMessage, SpoofedMessage
from functions.notification import parse
from functions.policy import ENV_POLICY, ENV_POLICY_FILE

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "build", "run"]

HELP = "publish a well-formed budget notification to a topic (real or emulator)"
DESCRIPTION = __doc__.split("\n", 1)[1].replace("``", "") if __doc__ else ""

_ANY_BUDGET = object()  # stands for "a budget the policy trusts, any currency"
_TOPIC = re.compile(r"projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][\w.~+%-]{2,254}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(
        parser,
        policy_help=(
            f"the policy JSON file, for the default --billing-account and --budget-id (default: "
            f"${ENV_POLICY} or ${ENV_POLICY_FILE} when set; optional)"
        ),
    )
    parser.add_argument(
        "--topic", required=True, metavar="projects/P/topics/T", help="the budget's topic"
    )
    parser.add_argument("--cost", type=amount, required=True, metavar="AMOUNT", help="costAmount")
    parser.add_argument(
        "--budget", type=amount, required=True, metavar="AMOUNT", help="budgetAmount"
    )
    parser.add_argument(
        "--forecast", type=ratio, metavar="RATIO", help="forecastThresholdExceeded (1.5 = 150 %%)"
    )
    parser.add_argument(
        "--alert-threshold",
        type=ratio,
        metavar="RATIO",
        help="alertThresholdExceeded, the highest budget threshold crossed (the guard ignores it)",
    )
    parser.add_argument(
        "--budget-id", metavar="ID", help="budgetId (default: the policy's only budget)"
    )
    parser.add_argument(
        "--billing-account", metavar="ACCOUNT", help="billingAccountId (default: the policy's)"
    )
    parser.add_argument(
        "--period", type=period, metavar="RFC3339", help="costIntervalStart (default: this month's)"
    )
    parser.add_argument(
        "--currency", metavar="CODE", help="currencyCode (default: the budget's, else USD)"
    )
    parser.add_argument("--display-name", default="Gemini API budget", help="budgetDisplayName")


def build(args: argparse.Namespace) -> Alert:
    """The notification to send, from the arguments and the policy's defaults."""
    policy = load(args.policy, required=False)
    account = args.billing_account or (policy.billing_account if policy else None)
    budget_id = args.budget_id
    if budget_id is None and policy is not None:
        if len(policy.budgets) != 1:
            raise UsageError(
                f"the policy has {len(policy.budgets)} budgets: choose one with --budget-id"
            )
        budget_id = next(iter(policy.budgets))
    if account is None or budget_id is None:
        raise UsageError(
            "give --billing-account and --budget-id, or a policy (--policy FILE) to take them from"
        )
    budget = policy.budgets.get(budget_id) if policy else None
    if args.budget <= 0:
        raise UsageError("--budget must be greater than zero")
    alert = Alert(
        billing_account_id=account,
        budget_id=budget_id,
        cost=args.cost,
        budget=args.budget,
        period_start=args.period or current_period(),
        display_name=args.display_name,
        currency=args.currency or (budget.currency if budget and budget.currency else "USD"),
        alert_threshold=args.alert_threshold,
        forecast_threshold=args.forecast,
    )
    # Refuse to send what no guard would accept as a notification (the origin is not checked:
    # sending a message the policy would call spoofed is a legitimate test).
    try:
        parse(alert.message("check"), account, {budget_id: _ANY_BUDGET})
    except (MalformedMessage, SpoofedMessage) as exc:
        raise UsageError(f"not a well-formed budget notification: {exc}") from None
    return alert


def run(args: argparse.Namespace, out: Output) -> int:
    if not _TOPIC.fullmatch(args.topic):
        raise UsageError(f"--topic must be projects/PROJECT/topics/NAME, got {args.topic!r}")
    alert = build(args)
    import google.cloud.pubsub_v1 as pubsub_v1

    publisher = pubsub_v1.PublisherClient()  # honours PUBSUB_EMULATOR_HOST
    topic = args.topic
    message_id: str = gcp.call(
        f"publish a test alert to {topic}",
        lambda: publisher.publish(topic, alert.payload(), **alert.attributes()).result(
            timeout=gcp.TIMEOUT
        ),
        {
            Exception: (
                f"check that {topic} exists and that you may publish to it (pubsub.topics.publish)"
            )
        },
    )
    doc: dict[str, Any] = {
        "message_id": message_id,
        "topic": topic,
        "attributes": alert.attributes(),
        "data": alert.data(),
    }
    out.say(f"published message {message_id} to {topic}")
    out.say(
        f"  budget {alert.budget_id}, cost {alert.cost} of {alert.budget} {alert.currency}"
        + (f", forecast {alert.forecast_threshold}" if alert.forecast_threshold is not None else "")
        + f", period {alert.period_start}"
    )
    out.document(doc)
    return 0
