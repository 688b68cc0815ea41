"""Unit tests of the decision: which rules fire, and what identifies a crossing."""

from __future__ import annotations

from typing import Any

import pytest

from functions.decision import decide
from functions.notification import parse
from functions.policy import parse_policy
from tests.sample import ACCOUNT, POLICY, alert, policy_doc

POL = parse_policy(POLICY)


def fired(cost: float, budget: float = 1000, policy: Any = POL, **kw: Any) -> list[tuple[str, str]]:
    n = parse(alert(cost, budget, **kw).message("m"), ACCOUNT, policy.budgets)
    return [(f.rule.name, f.project) for f in decide(n, policy)]


@pytest.mark.parametrize(
    ("cost", "forecast", "rules"),
    [
        (0, None, []),
        (499.99, None, []),
        (500, None, ["warn"]),
        (999.99, 0.9, ["warn"]),
        (999.99, 1.0, ["warn", "forecast"]),
        (1000, None, ["warn", "stop"]),
        (5000, 2.5, ["warn", "forecast", "stop"]),
        (10, 1.5, ["forecast"]),
    ],
)
def test_thresholds(cost: float, forecast: float | None, rules: list[str]) -> None:
    assert [r for r, _ in fired(cost, forecast_threshold=forecast)] == rules


def test_exact_decimal_comparison_at_the_boundary() -> None:
    # 0.29 * 100 is 28.999999999999996 in binary floating point; the guard compares decimals.
    policy = parse_policy(
        policy_doc(
            rules=[{"name": "x", "threshold": 0.29, "basis": "actual", "actions": ["notify"]}]
        )
    )
    assert fired(29, 100, policy) == [("x", "gemini-prod")]
    assert fired(28.99, 100, policy) == []


def test_every_project_of_the_budget_fires_and_protection_is_marked() -> None:
    doc = policy_doc(protected_projects=["shared-infra"])
    doc["budgets"] = {k: {"projects": ["gemini-prod", "shared-infra"]} for k in doc["budgets"]}
    policy = parse_policy(doc)
    n = parse(alert(1200).message("m"), ACCOUNT, policy.budgets)
    firings = decide(n, policy)
    assert {(f.rule.name, f.project, f.protected) for f in firings} == {
        ("warn", "gemini-prod", False),
        ("warn", "shared-infra", True),
        ("stop", "gemini-prod", False),
        ("stop", "shared-infra", True),
    }


def crossing(cost: float, budget: float = 1000, policy: Any = POL, **kw: Any) -> str:
    n = parse(alert(cost, budget, **kw).message("m"), ACCOUNT, policy.budgets)
    return next(f.crossing.doc_id for f in decide(n, policy) if f.rule.name == "warn")


def test_crossing_identity() -> None:
    base = crossing(600)
    assert crossing(900) == base, "more spend in the same period is the same crossing"
    assert crossing(600, period_start="2026-10-01T07:00:00Z") != base, "a new period re-arms"
    assert crossing(1200, 2000) != base, "a raised budget re-arms at the new amount"
    assert crossing(600, 1000.0) == base, "1000 and 1000.0 are the same amount"
    dry = parse_policy(policy_doc(dry_run=True))
    assert crossing(600, policy=dry) != base, "a dry-run claim does not latch the real crossing"
