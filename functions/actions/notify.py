"""``notify``: a WARNING log of the crossing and, when ``events_topic`` is set, a JSON event."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from functions import gcp
from functions.actions.base import Action, Context, Outcome
from functions.redact import redact

__all__ = ["Notify", "event"]


def event(ctx: Context) -> dict[str, Any]:
    """The event other systems receive: the crossing, and nothing secret."""
    n, f = ctx.notification, ctx.firing
    return {
        "type": "budget_guard.crossing",
        "budget_id": n.budget_id,
        "budget_display_name": n.budget_display_name,
        "billing_account_id": n.billing_account_id,
        "project": f.project,
        "protected": f.protected,
        "rule": f.rule.name,
        "threshold": str(f.rule.threshold),
        "basis": f.rule.basis,
        "actions": list(f.rule.actions),
        "reason": f.reason,
        "period": n.period,
        "cost_amount": str(n.cost_amount),
        "budget_amount": str(n.budget_amount),
        "currency": n.currency_code,
        "message_id": n.message_id,
        "dry_run": ctx.policy.dry_run,
    }


@cache
def _publisher() -> Any:
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient()


class Notify(Action):
    name = "notify"
    summary = "log the crossing at WARNING and publish it to events_topic"
    config = ("events_topic",)
    mutates = False
    idempotent = False  # a second run publishes a second event
    strength = 0

    def run(self, ctx: Context) -> Outcome:
        payload = redact(event(ctx))  # the budget's display name is free text
        ctx.log.warning(
            f"budget threshold crossed: rule {ctx.firing.rule.name}: {ctx.firing.reason}",
            event=payload,
        )
        topic = ctx.policy.events_topic
        if topic is None:
            return Outcome("done", "logged (no events_topic configured)")
        data = json.dumps(payload, sort_keys=True).encode()
        attributes = {
            "rule": ctx.firing.rule.name,
            "project": ctx.project,
            "budget_id": payload["budget_id"],
        }
        message_id = gcp.call(
            f"publish event to {topic}",
            # One publish RPC per attempt (retry=None): the client would otherwise keep retrying
            # in the background a publish this call gave up on, and a redelivery publishes again.
            lambda: (
                _publisher()
                .publish(topic, data, retry=None, timeout=gcp.timeout(), **attributes)
                .result(timeout=gcp.timeout() + 5)
            ),
            {Exception: f"grant the guard roles/pubsub.publisher on {topic} and check it exists"},
        )
        return Outcome("done", f"logged and published event {message_id} to {topic}")
