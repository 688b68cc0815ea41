"""Shared sample data for the tests: a policy document and notification builders."""

from __future__ import annotations

import copy
from typing import Any

from functions.alerts import Alert, cloud_event

ACCOUNT = "01D4EE-079462-DFD6EC"
BUDGET = "de72f49d-779b-4945-a127-4d6ce8def0bb"
PERIOD = "2026-11-01T07:00:00Z"

POLICY: dict[str, Any] = {
    "billing_account": ACCOUNT,
    "budgets": {BUDGET: {"projects": ["gemini-prod"]}},
    "rules": [
        {"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]},
        {"name": "forecast", "threshold": 1.0, "basis": "forecast", "actions": ["notify"]},
        {
            "name": "stop",
            "threshold": 1.0,
            "basis": "actual",
            "actions": ["notify", "disable_billing"],
        },
    ],
    "protected_projects": [],
    "dry_run": False,
    "ledger": {"project": "guard-host", "database": "budget-guard"},
}


def policy_doc(**changes: Any) -> dict[str, Any]:
    """A deep copy of POLICY with top-level keys replaced."""
    doc = copy.deepcopy(POLICY)
    doc.update(changes)
    return doc


def alert(cost: float, budget: float = 1000, **kw: Any) -> Alert:
    return Alert(ACCOUNT, BUDGET, cost, budget, **({"period_start": PERIOD} | kw))


def event(cost: float, budget: float = 1000, message_id: str = "m-1", **kw: Any) -> Any:
    return cloud_event(alert(cost, budget, **kw).message(message_id))
