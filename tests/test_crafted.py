"""Crafted messages: every one gets an answer and exactly one log line, never an endless 500.

In process, through ``functions.handler.Guard`` with the in-memory ledger: amounts outside the
range Cloud Billing can send are rejected with their reason; the widest valid ratio still formats;
and an unexpected exception while reading or deciding is one ERROR line, acknowledged.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

from functions.decision import decide
from functions.handler import Guard
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.policy import parse_policy
from tests.sample import ACCOUNT, BUDGET, PERIOD, policy_doc

NOTIFY = [{"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]}]


class Event(dict[str, Any]):
    data: Any


def crafted(data_text: str) -> Event:
    event = Event(type="google.cloud.pubsub.topic.v1.messagePublished", id="x")
    event.data = {
        "message": {
            "data": base64.b64encode(data_text.encode()).decode(),
            "attributes": {"billingAccountId": ACCOUNT, "budgetId": BUDGET, "schemaVersion": "1.0"},
            "messageId": "crafted-1",
            "publishTime": "2026-11-20T10:00:00Z",
        }
    }
    return event


def data_text(cost: str, budget: str) -> str:
    fields = {
        "budgetDisplayName": "b",
        "costAmount": "@cost",
        "costIntervalStart": PERIOD,
        "budgetAmount": "@budget",
        "budgetAmountType": "SPECIFIED_AMOUNT",
        "currencyCode": "USD",
    }
    return json.dumps(fields).replace('"@cost"', cost).replace('"@budget"', budget)


def run(event: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    stream = io.StringIO()
    ledger = MemoryLedger()
    guard = Guard(parse_policy(policy_doc(rules=NOTIFY)), lambda: ledger, Logger(stream=stream))
    results = guard.handle(event)
    return results, [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_budget_below_a_nano_is_malformed_with_its_reason() -> None:
    results, (line,) = run(crafted(data_text("999999999999999", "1e-14")))
    assert results == []
    assert line["rejected"] == "malformed"
    assert "data.budgetAmount must be 0 or at least 1e-9" in line["reason"]


def test_the_widest_valid_ratio_still_formats_its_reason() -> None:
    """cost just under 1e15 over a budget of one nano: a ratio of about 1e24."""
    results, lines = run(crafted(data_text("999999999999999.5", "1e-9")))
    assert [r.get("duplicate") for r in results] == [None]
    (firing,) = decide_for("999999999999999.5", "1e-9")
    assert firing.reason.startswith("actual spend 999999999999999.5 USD of budget 1E-9 = ")
    assert not [line for line in lines if line["severity"] == "ERROR"]


def decide_for(cost: str, budget: str) -> list[Any]:
    from functions.notification import from_cloud_event, parse

    policy = parse_policy(policy_doc(rules=NOTIFY))
    message = from_cloud_event(crafted(data_text(cost, budget)))
    return decide(parse(message, policy.billing_account, policy.budgets), policy)


class Exploding(dict[str, Any]):
    """A CloudEvent whose every read fails with an error no parser expects."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("the envelope cannot be read")

    @property
    def data(self) -> Any:
        raise RuntimeError("the envelope cannot be read")


def test_an_unexpected_error_while_reading_is_one_error_line_and_acknowledged() -> None:
    results, (line,) = run(Exploding())
    assert results == []
    assert line["severity"] == "ERROR"
    assert line["rejected"] == "error"
    assert line["reason"] == "RuntimeError: the envelope cannot be read"
