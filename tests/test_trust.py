"""What the guard verifies beyond the attributes (README, "Trust model"): the CloudEvent's source
topic, when the policy names it, and the age of the period a notification is about.

Through ``functions.handler.Guard`` with the in-memory ledger; one log line per rejection.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from functions.alerts import cloud_event
from functions.errors import PolicyError
from functions.handler import Guard
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.policy import parse_policy
from tests.sample import BUDGET, alert, policy_doc

TOPIC = "projects/guard-host/topics/budget-guard-alerts"
NOTIFY = [{"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]}]


def handle(event: Any, **policy: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    stream = io.StringIO()
    ledger = MemoryLedger()
    doc = policy_doc(rules=NOTIFY, **policy)
    guard = Guard(parse_policy(doc), lambda: ledger, Logger(stream=stream))
    results = guard.handle(event)
    return results, [json.loads(line) for line in stream.getvalue().splitlines()]


def from_topic(topic: str, **kw: Any) -> Any:
    event = cloud_event(alert(600, **kw).message("m-1"))
    event["source"] = f"//pubsub.googleapis.com/{topic}"
    return event


def test_a_cloud_event_from_the_alerts_topic_is_accepted() -> None:
    results, _ = handle(from_topic(TOPIC), source_topic=TOPIC)
    assert len(results) == 1 and not results[0].get("duplicate")


def test_a_cloud_event_from_another_topic_is_spoofed() -> None:
    other = "projects/guard-host/topics/someone-elses"
    results, (line,) = handle(from_topic(other), source_topic=TOPIC)
    assert results == []
    assert line["rejected"] == "spoofed"
    assert f"is not the alerts topic {TOPIC}" in line["reason"] and other in line["reason"]


def test_without_source_topic_the_source_is_not_checked() -> None:
    results, _ = handle(from_topic("projects/p/topics/anything"))
    assert len(results) == 1


def test_a_bad_source_topic_fails_the_policy_naming_it() -> None:
    with pytest.raises(PolicyError, match=r"^source_topic: must be projects/PROJECT/topics/NAME"):
        parse_policy(policy_doc(source_topic="budget-guard-alerts"))


def monthly(period: str = "MONTH") -> dict[str, Any]:
    return {BUDGET: {"projects": ["gemini-prod"], "calendar_period": period}}


def old_period(period_start: str, published: str) -> Any:
    return cloud_event(alert(600, period_start=period_start).message("m-1", published))


def test_a_period_older_than_its_calendar_period_is_stale() -> None:
    event = old_period("2026-09-01T07:00:00Z", "2026-11-20T10:00:00Z")  # 80 days
    results, (line,) = handle(event, budgets=monthly())
    assert results == [] and line["rejected"] == "malformed"
    assert "is stale: more than one MONTH budget period (31 days)" in line["reason"]


@pytest.mark.parametrize(
    ("calendar_period", "start", "published"),
    [
        ("MONTH", "2026-10-01T07:00:00Z", "2026-10-31T23:59:00Z"),  # the period's last day
        ("QUARTER", "2026-10-01T07:00:00Z", "2026-12-31T23:00:00Z"),
        ("YEAR", "2026-01-01T08:00:00Z", "2026-12-31T23:00:00Z"),
        (None, "2025-01-01T08:00:00Z", "2026-11-20T10:00:00Z"),  # not aged without it
    ],
)
def test_a_period_within_its_calendar_period_is_accepted(
    calendar_period: str | None, start: str, published: str
) -> None:
    budgets = {BUDGET: {"projects": ["gemini-prod"]}}
    if calendar_period:
        budgets = monthly(calendar_period)
    results, _ = handle(old_period(start, published), budgets=budgets)
    assert len(results) == 1


def test_a_bad_calendar_period_fails_the_policy_naming_it() -> None:
    with pytest.raises(PolicyError, match=rf"^budgets\.{BUDGET}\.calendar_period: must be one of"):
        parse_policy(policy_doc(budgets=monthly("WEEK")))
