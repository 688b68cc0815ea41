"""Unit tests of tests/infra/logquery.py, the Logging-query evaluator the alert tests rely on."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from functions.log import Logger
from tests.infra.logquery import QueryError, log_entry, matches, parse

ENTRY: dict[str, Any] = {
    "severity": "WARNING",
    "resource": {"type": "cloud_run_revision", "labels": {"service_name": "budget-guard"}},
    "jsonPayload": {
        "message": "crossing claimed",
        "rule": "stop",
        "dry_run": False,
        "estimate": 12.5,
        "budget_amount": None,
        "actions": ["notify", "disable_billing"],
        "event": {"project": "gemini-prod"},
    },
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('jsonPayload.message="crossing claimed"', True),
        ('jsonPayload.message="crossing claimed (resuming)"', False),
        ('jsonPayload.message="Crossing claimed"', False),  # = is exact
        ('jsonPayload.message:"CLAIMED"', True),  # : is a case-insensitive substring
        ('jsonPayload.message:"resuming"', False),
        ("jsonPayload.rule:*", True),
        ("jsonPayload.nothing:*", False),
        ("jsonPayload.budget_amount:*", False),  # null is absent
        ("jsonPayload.budget_amount>=0", False),
        ("jsonPayload.estimate>=12.5", True),
        ("jsonPayload.estimate>12.5", False),
        ("jsonPayload.estimate<100", True),
        ("jsonPayload.dry_run=false", True),
        ('jsonPayload.actions="disable_billing"', True),  # any element of an array
        ('jsonPayload.event.project="gemini-prod"', True),
        ("severity>=WARNING", True),
        ("severity>=ERROR", False),
        ("severity<ERROR", True),
        ("severity=WARNING", True),
        ('resource.labels.service_name="budget-guard-watchdog"', False),
        ('resource.type="cloud_run_revision" resource.labels.service_name="budget-guard"', True),
        ('resource.type="x" OR jsonPayload.rule="stop"', True),
        ('resource.type="x" OR jsonPayload.rule="warn"', False),
        ('NOT jsonPayload.rule="warn"', True),
        ('-jsonPayload.rule="stop"', False),
        ('NOT jsonPayload.missing="x"', True),  # a missing field never equals
        ("jsonPayload.missing!=x", False),
        (
            '(resource.type="x" OR resource.type="cloud_run_revision") AND NOT severity>=ERROR',
            True,
        ),
        ('jsonPayload.rule="stop" AND (jsonPayload.rule="warn" OR severity=INFO)', False),
        # NOT binds tighter than AND, AND tighter than OR.
        ('NOT jsonPayload.rule="stop" AND severity=WARNING OR jsonPayload.rule="stop"', True),
        ('NOT jsonPayload.rule="stop" AND (severity=WARNING OR jsonPayload.rule="stop")', False),
    ],
)
def test_queries(query: str, expected: bool) -> None:
    assert matches(query, ENTRY) is expected


@pytest.mark.parametrize(
    "query",
    [
        "crossing",  # global search
        'jsonPayload.message="x" AND',
        '(jsonPayload.message="x"',
        "jsonPayload.rule=*",
        'jsonPayload.message=~"regex"',
        "severity>=LOUD",
    ],
)
def test_outside_the_subset_is_refused(query: str) -> None:
    with pytest.raises(QueryError):
        matches(query, ENTRY)


def test_the_parse_tree_respects_precedence() -> None:
    tree = parse('a="1" b="2" OR NOT c="3"')
    assert type(tree).__name__ == "Or"
    assert [type(t).__name__ for t in tree.terms] == ["And", "Not"]


def test_log_entry_lifts_severity_and_time_and_keeps_message() -> None:
    stream = io.StringIO()
    Logger({"component": "budget-guard"}, stream).warning("budget threshold crossed", rule="r")
    entry = log_entry(json.loads(stream.getvalue()), "budget-guard")
    assert entry["severity"] == "WARNING"
    assert entry["resource"]["labels"]["service_name"] == "budget-guard"
    payload = entry["jsonPayload"]
    assert payload["message"] == "budget threshold crossed" and payload["rule"] == "r"
    assert "severity" not in payload and "time" not in payload and entry["timestamp"]
    assert payload["component"] == "budget-guard"
