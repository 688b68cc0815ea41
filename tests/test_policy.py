"""Unit tests: the policy is validated strictly, with the path of the bad field."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from functions.errors import PolicyError
from functions.policy import ENV_POLICY, ENV_POLICY_FILE, load_policy, parse_policy
from tests.sample import BUDGET, POLICY, policy_doc


def rules(**changes: Any) -> list[dict[str, Any]]:
    out = json.loads(json.dumps(POLICY["rules"]))
    out[1].update(changes)
    return out


def test_the_issue_example_parses_with_defaults() -> None:
    p = parse_policy(POLICY)
    assert p.billing_account == "01D4EE-079462-DFD6EC"
    assert p.budgets[BUDGET].projects == ("gemini-prod",)
    assert [r.name for r in p.rules] == ["warn", "forecast", "stop"]
    assert p.rules[0].threshold == Decimal("0.5")
    assert p.dry_run is False and p.events_topic is None
    assert p.keys.match == "gemini" and p.keys.secret is None
    assert p.services == ("generativelanguage.googleapis.com",)
    assert p.ledger.database == "budget-guard"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (policy_doc(rules=rules(threshold=0)), "rules[1].threshold: must be > 0"),
        (policy_doc(rules=rules(threshold=-1)), "rules[1].threshold: must be > 0"),
        (
            policy_doc(rules=rules(threshold="1")),
            "rules[1].threshold: must be a number, got a string",
        ),
        (
            policy_doc(rules=rules(basis="predicted")),
            "rules[1].basis: must be one of actual, forecast",
        ),
        (
            policy_doc(rules=rules(actions=["shutdown"])),
            "rules[1].actions[0]: unknown action 'shutdown'",
        ),
        (policy_doc(rules=rules(actions=[])), "rules[1].actions: must name at least one action"),
        (policy_doc(rules=rules(name="warn")), "rules[1].name: duplicates rule name 'warn'"),
        (policy_doc(rules=rules(when="now")), "rules[1].when: is not a known key"),
        (policy_doc(rules=[]), "rules: must hold at least one rule"),
        (
            policy_doc(dry_run="false"),
            "dry_run: must be a JSON boolean (true or false), got a string 'false'",
        ),
        (policy_doc(dry_run=0), "dry_run: must be a JSON boolean"),
        (
            policy_doc(billing_account="billingAccounts/01D4EE"),
            "billing_account: must be a billing account id",
        ),
        (policy_doc(budgets={}), "budgets: must be a non-empty object"),
        (
            policy_doc(budgets={"nope": {"projects": ["gemini-prod"]}}),
            "budgets.nope: must be a budget id",
        ),
        (
            policy_doc(budgets={BUDGET: {"projects": []}}),
            f"budgets.{BUDGET}.projects: must name at least one",
        ),
        (
            policy_doc(budgets={BUDGET: {"projects": ["Bad_Project"]}}),
            f"budgets.{BUDGET}.projects[0]: must be a project ID",
        ),
        (policy_doc(protected_projects="gemini-prod"), "protected_projects: must be a list"),
        (policy_doc(ledger={"project": "guard-host"}), "ledger.database: is required"),
        (
            policy_doc(events_topic="budget-guard-events"),
            "events_topic: must be projects/PROJECT/topics/NAME",
        ),
        (
            policy_doc(keys={"match": "all"}),
            'keys.match: must be "gemini" or a list of display names',
        ),
        (
            policy_doc(keys={"secret": "gemini-api-key"}),
            "keys.secret: must be projects/PROJECT/secrets/NAME",
        ),
        (policy_doc(services=[]), "services: must name at least one service"),
        (policy_doc(dryrun=True), "dryrun: is not a known key"),
        ([], "must be an object, got a list"),
    ],
)
def test_bad_policy_names_the_field(doc: Any, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(doc)
    assert str(info.value).startswith(message) or message in str(info.value)


def test_missing_required_key() -> None:
    doc = policy_doc()
    del doc["billing_account"]
    with pytest.raises(PolicyError, match=r"^billing_account: is required"):
        parse_policy(doc)


def test_load_from_env_and_file(tmp_path: Path) -> None:
    assert load_policy({ENV_POLICY: json.dumps(POLICY)}).rules[2].name == "stop"
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(POLICY))
    assert load_policy({ENV_POLICY_FILE: str(path)}).billing_account == POLICY["billing_account"]
    with pytest.raises(PolicyError, match="no policy"):
        load_policy({})
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy({ENV_POLICY_FILE: str(tmp_path / "missing.json")})
    with pytest.raises(PolicyError, match="is not valid JSON"):
        load_policy({ENV_POLICY: "{"})
