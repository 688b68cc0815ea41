"""infra/modules/policy evaluated for real (``terraform apply``, offline: it has no provider).

The rendered BUDGET_GUARD_POLICY must pass the function's own validation, and the budget's
threshold rules must be exactly the rules' (threshold, basis) pairs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.actions import REGISTRY
from functions.errors import PolicyError
from functions.policy import parse_policy
from tests.infra.helpers import Terraform, offline_root

BUDGET_ID = "de72f49d-779b-4945-a127-4d6ce8def0bb"

# The test root: every input of the policy module comes from tfvars, so each test picks its own.
MAIN_TF = """
variable "billing_account" { type = string }
variable "budgets" { type = any }
variable "rules" { type = any }
variable "dry_run" { type = any }
variable "extra" {
  type    = any
  default = {}
}

module "policy" {
  source          = "./policy"
  billing_account = var.billing_account
  budgets         = var.budgets
  rules           = var.rules
  dry_run         = var.dry_run
  ledger_project  = "guard-host"
  ledger_database = "budget-guard"

  protected_projects      = try(var.extra.protected_projects, [])
  events_topic            = try(var.extra.events_topic, null)
  key_match_display_names = try(var.extra.key_match_display_names, [])
  key_secret              = try(var.extra.key_secret, null)
  services                = try(var.extra.services, ["generativelanguage.googleapis.com"])
  throttle                = try(var.extra.throttle, null)
  ceiling                 = try(var.extra.ceiling, null)
  source_topic            = try(var.extra.source_topic, null)
  watchdog                = try(var.extra.watchdog, null)
}

output "policy_json" { value = module.policy.policy_json }
output "threshold_rules" { value = module.policy.threshold_rules }
output "custom_role_permissions" { value = module.policy.custom_role_permissions }
output "actions_used" { value = module.policy.actions_used }
output "permissions_by_action" { value = module.policy.permissions_by_action }
"""

RULES: list[dict[str, Any]] = [
    {"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]},
    {"name": "forecast", "threshold": 1.0, "basis": "forecast", "actions": ["notify"]},
    {"name": "rotate", "threshold": 0.9, "basis": "actual", "actions": ["notify", "rotate_keys"]},
    {
        "name": "stop",
        "threshold": 1.0,
        "basis": "actual",
        "actions": ["notify", "disable_service", "disable_billing"],
    },
]

SAMPLE: dict[str, Any] = {
    "billing_account": "01D4EE-079462-DFD6EC",
    "budgets": {BUDGET_ID: {"projects": ["gemini-prod"], "currency": "USD"}},
    "rules": RULES,
    "dry_run": False,
    "extra": {
        "events_topic": "projects/guard-host/topics/budget-guard-events",
        "key_secret": "projects/guard-host/secrets/gemini-api-key",
    },
}

# The document the function expects for SAMPLE, key for key.
EXPECTED: dict[str, Any] = {
    "billing_account": "01D4EE-079462-DFD6EC",
    "budgets": {BUDGET_ID: {"projects": ["gemini-prod"], "currency": "USD"}},
    "rules": RULES,
    "protected_projects": [],
    "dry_run": False,
    "ledger": {"project": "guard-host", "database": "budget-guard"},
    "events_topic": "projects/guard-host/topics/budget-guard-events",
    "keys": {"match": "gemini", "secret": "projects/guard-host/secrets/gemini-api-key"},
    "services": ["generativelanguage.googleapis.com"],
}

SPEND_BASIS = {"actual": "CURRENT_SPEND", "forecast": "FORECASTED_SPEND"}


@pytest.fixture(scope="module")
def tf(
    tmp_path_factory: pytest.TempPathFactory, terraform_binary: str, terraform_env: dict[str, str]
) -> Iterator[Terraform]:
    yield offline_root(
        tmp_path_factory.mktemp("policy"), "policy", MAIN_TF, terraform_binary, terraform_env
    )


def sample(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SAMPLE)
    doc.update(copy.deepcopy(changes))
    return doc


def rendered(out: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(out["policy_json"])
    assert isinstance(doc, dict)
    return doc


def test_rendered_policy_passes_the_functions_validation(tf: Terraform) -> None:
    out = tf.apply(SAMPLE)
    doc = rendered(out)
    try:
        policy = parse_policy(doc)
    except PolicyError as exc:
        pytest.fail(f"the policy Terraform renders is refused by functions.policy: {exc}\n{doc}")
    assert doc == EXPECTED
    assert doc["dry_run"] is False  # a JSON boolean, not "false"
    assert policy.budgets[BUDGET_ID].projects == ("gemini-prod",)
    assert {r.name for r in policy.rules} == {r["name"] for r in RULES}


def test_threshold_rules_equal_the_rules_pairs(tf: Terraform) -> None:
    # Two rules share (1.0, actual): the budget gets that pair once (the API refuses duplicates).
    rules = [
        *RULES,
        {"name": "revoke", "threshold": 1.0, "basis": "actual", "actions": ["revoke_keys"]},
    ]
    out = tf.apply(sample(rules=rules))
    got = [(float(t["threshold_percent"]), t["spend_basis"]) for t in out["threshold_rules"]]
    want = {(float(r["threshold"]), SPEND_BASIS[r["basis"]]) for r in rules}
    assert set(got) == want
    assert len(got) == len(set(got)), f"duplicate threshold rules: {got}"
    parse_policy(rendered(out))


def test_default_basis_is_actual(tf: Terraform) -> None:
    rules = [{"name": "stop", "threshold": 2, "actions": ["disable_billing"]}]
    out = tf.apply(sample(rules=rules))
    assert out["threshold_rules"] == [{"threshold_percent": 2, "spend_basis": "CURRENT_SPEND"}]
    assert rendered(out)["rules"][0]["basis"] == "actual"


def test_custom_role_is_the_registry_union_for_the_actions_used(tf: Terraform) -> None:
    out = tf.apply(SAMPLE)
    used = {a for r in RULES for a in r["actions"]}
    assert set(out["actions_used"]) == used
    want = set().union(*(REGISTRY[a].permissions for a in used))
    got = set(out["custom_role_permissions"])
    assert got - want == set(), (
        f"Terraform grants more than the actions declare: {sorted(got - want)}"
    )
    assert want - got == set(), (
        f"Terraform grants less than the actions declare: {sorted(want - got)}"
    )
    # And per action, for every action the registry knows.
    per_action = {a: set(p) for a, p in out["permissions_by_action"].items()}
    assert per_action == {a: set(cls.permissions) for a, cls in REGISTRY.items()}


def test_notify_only_needs_no_custom_role_and_no_keys(tf: Terraform) -> None:
    rules = [{"name": "warn", "threshold": 0.8, "basis": "forecast", "actions": ["notify"]}]
    out = tf.apply(sample(rules=rules, extra={}))
    assert out["custom_role_permissions"] == []
    doc = rendered(out)
    # Optional keys are left out, so the function's defaults apply.
    assert "keys" not in doc
    assert "events_topic" not in doc
    parse_policy(doc)


def test_key_display_names_and_protected_projects(tf: Terraform) -> None:
    extra = {
        "key_match_display_names": ["chatbot", "batch"],
        "protected_projects": ["gemini-staging"],
        "services": ["generativelanguage.googleapis.com", "aiplatform.googleapis.com"],
    }
    budgets = {BUDGET_ID: {"projects": ["gemini-prod", "gemini-staging"]}}
    out = tf.apply(sample(budgets=budgets, extra=extra))
    doc = rendered(out)
    assert doc["keys"] == {"match": ["chatbot", "batch"]}
    assert doc["protected_projects"] == ["gemini-staging"]
    assert doc["budgets"] == {
        BUDGET_ID: {"projects": ["gemini-prod", "gemini-staging"]}
    }  # no currency
    policy = parse_policy(doc)
    assert policy.keys.match == ("chatbot", "batch")
    assert policy.is_protected("gemini-staging")


def test_dry_run_renders_as_a_json_boolean(tf: Terraform) -> None:
    # Even a tfvars string "true" becomes a JSON boolean: the function never sees "false" text.
    out = tf.apply(sample(dry_run="true"))
    doc = rendered(out)
    assert doc["dry_run"] is True
    assert parse_policy(doc).dry_run is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rules": [{**RULES[0], "threshold": 0}]}, "must be > 0"),
        ({"rules": [{**RULES[0], "threshold": -0.5}]}, "must be > 0"),
        ({"rules": [{**RULES[0], "basis": "spent"}]}, 'must be "actual"'),
        ({"rules": [{**RULES[0], "actions": ["delete_project"]}]}, "Unknown action in rules"),
        ({"rules": [{**RULES[0], "actions": []}]}, "at least one action"),
        ({"rules": [RULES[0], {**RULES[1], "name": "warn"}]}, "Rule names must be unique"),
        ({"rules": [{**RULES[0], "name": "Warn"}]}, "must match ^[a-z][a-z0-9_-]{0,39}$"),
        ({"rules": []}, "at least one rule"),
        (
            {"billing_account": "billingAccounts/01D4EE-079462-DFD6EC"},
            "billing_account must look like",
        ),
        ({"budgets": {"not-a-uuid": {"projects": ["gemini-prod"]}}}, "must be a budget ID"),
        ({"budgets": {BUDGET_ID: {"projects": ["123456789012"]}}}, "not project numbers"),
        ({"budgets": {BUDGET_ID: {"projects": ["gemini-prod"], "currency": "usd"}}}, "ISO 4217"),
        ({"dry_run": "maybe"}, "dry_run"),
        (
            {"extra": {"events_topic": "budget-guard-events"}},
            "events_topic must be a full topic name",
        ),
    ],
)
def test_bad_input_is_refused_with_a_readable_message(
    tf: Terraform, change: dict[str, Any], message: str
) -> None:
    error = tf.plan_error(sample(**change))
    assert message in error, error


def test_one_secret_per_project_renders_and_passes_the_functions_validation(
    tf: Terraform,
) -> None:
    secret = "projects/guard-host/secrets/gemini-api-key-{project}"
    budgets = {BUDGET_ID: {"projects": ["gemini-prod", "gemini-staging"]}}
    extra = {**SAMPLE["extra"], "key_secret": secret}
    doc = rendered(tf.apply(sample(budgets=budgets, extra=extra)))
    assert doc["keys"]["secret"] == secret
    assert parse_policy(doc).keys.secret_for("gemini-staging") == secret.replace(
        "{project}", "gemini-staging"
    )


def test_one_secret_for_several_rotated_projects_is_refused_at_plan(tf: Terraform) -> None:
    budgets = {BUDGET_ID: {"projects": ["gemini-prod", "gemini-staging"]}}
    error = tf.plan_error(sample(budgets=budgets))
    assert "key_secret would be overwritten by the rotate_keys of several" in error, error
    # the same policy is refused by the function, naming the field
    with pytest.raises(PolicyError, match=r"^keys\.secret: would be overwritten"):
        parse_policy({**EXPECTED, "budgets": budgets})


def test_disable_billing_on_the_host_project_is_refused_at_plan(tf: Terraform) -> None:
    budgets = {BUDGET_ID: {"projects": ["gemini-prod", "guard-host"]}}
    error = tf.plan_error(sample(budgets=budgets))
    assert "would stop the guard itself" in error, error
    protected = {**SAMPLE["extra"], "protected_projects": ["guard-host"]}
    parse_policy(rendered(tf.apply(sample(budgets=budgets, extra=protected))))


def test_source_topic_and_calendar_period_render_for_the_function(tf: Terraform) -> None:
    topic = "projects/guard-host/topics/budget-guard-alerts"
    budgets = {BUDGET_ID: {"projects": ["gemini-prod"], "calendar_period": "QUARTER"}}
    extra = {**SAMPLE["extra"], "source_topic": topic}
    policy = parse_policy(rendered(tf.apply(sample(budgets=budgets, extra=extra))))
    assert policy.source_topic == topic
    assert policy.budgets[BUDGET_ID].calendar_period == "QUARTER"


WIRING_TF = """
# The root module's wiring with terraform_data standing in for the google resources: the budget
# takes the threshold rules from the module and the module takes the budget's UUID from its name,
# the function takes the policy. Terraform must resolve this without a cycle.
variable "budget_uuid" { type = string }

resource "terraform_data" "budget" {
  input = {
    threshold_rules = module.policy.threshold_rules
    name            = "billingAccounts/01D4EE-079462-DFD6EC/budgets/${var.budget_uuid}"
  }
}

locals {
  budget_ids = { gemini = element(split("/", terraform_data.budget.output.name), 3) }
}

module "policy" {
  source          = "./policy"
  billing_account = "01D4EE-079462-DFD6EC"
  budgets = {
    for k, p in { gemini = ["gemini-prod"] } : local.budget_ids[k] => {
      projects = p
      currency = null
    }
  }
  rules           = [{ name = "stop", threshold = 1, actions = ["notify", "disable_billing"] }]
  dry_run         = true
  ledger_project  = "guard-host"
  ledger_database = "budget-guard"
}

resource "terraform_data" "function" {
  input = { BUDGET_GUARD_POLICY = module.policy.policy_json }
}

output "env" { value = terraform_data.function.output }
output "budget" { value = terraform_data.budget.output }
"""


def test_budget_and_function_wiring_resolves_without_a_cycle(
    tmp_path: Path, terraform_binary: str, terraform_env: dict[str, str]
) -> None:
    tf = offline_root(tmp_path, "policy", WIRING_TF, terraform_binary, terraform_env)
    out = tf.apply({"budget_uuid": BUDGET_ID})
    doc = json.loads(out["env"]["BUDGET_GUARD_POLICY"])
    assert list(doc["budgets"]) == [BUDGET_ID]
    assert "currency" not in doc["budgets"][BUDGET_ID]
    assert out["budget"]["threshold_rules"] == [
        {"threshold_percent": 1, "spend_basis": "CURRENT_SPEND"}
    ]
    parse_policy(doc)


def test_throttle_and_ceiling_render_to_the_policy_and_the_quota_permissions(
    tf: Terraform,
) -> None:
    rules = [{"name": "slow", "threshold": 0.8, "basis": "actual", "actions": ["throttle"]}]
    throttle = {"quotas": [{"family": "requests_per_minute", "value": 1}]}
    out = tf.apply(sample(rules=rules, extra={"throttle": throttle, "ceiling": {"daily": "50"}}))
    doc = rendered(out)
    assert doc["throttle"] == {
        "tier": "auto",
        "quotas": [{"family": "requests_per_minute", "value": 1, "models": ["*"]}],
    }
    assert doc["ceiling"] == {"daily": "50", "models": []}
    policy = parse_policy(doc)
    assert policy.throttle is not None and policy.ceiling is not None
    assert set(out["custom_role_permissions"]) == set(REGISTRY["throttle"].permissions)


def test_a_throttle_rule_without_quotas_is_refused_at_plan(tf: Terraform) -> None:
    rules = [{"name": "slow", "threshold": 0.8, "basis": "actual", "actions": ["throttle"]}]
    error = tf.plan_error(sample(rules=rules, extra={}))
    assert "A rule uses throttle: set throttle" in error
