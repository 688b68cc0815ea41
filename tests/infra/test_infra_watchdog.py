"""HCL checks of infra/watchdog.tf: the tick's path, its least privilege, the reader's grant."""

from __future__ import annotations

import ast

from functions.policy import parse_policy
from functions.watchdog.config import READ_PERMISSIONS
from tests.infra.helpers import REPO, Module, Terraform, ref
from tests.infra.test_infra_hcl import one
from tests.infra.test_infra_policy import BUDGET_ID, rendered, sample, tf

__all__ = ["tf"]  # the policy module's offline root, shared with test_infra_policy


def test_read_permissions_match_the_code_both_ways(root: Module) -> None:
    granted = set(root.locals["watchdog_read_permissions"])
    assert granted - READ_PERMISSIONS == set(), "Terraform grants what the watchdog does not need"
    assert READ_PERMISSIONS - granted == set(), "the watchdog needs what Terraform does not grant"
    role = root.resource("google_project_iam_custom_role", "watchdog_reader")
    assert ref(role["permissions"]) == "local.watchdog_read_permissions"
    assert role["project"] == "${var.project_id}"
    member = root.resource("google_project_iam_member", "watchdog_reader")
    assert ref(member["role"]) == "google_project_iam_custom_role.watchdog_reader.name"
    assert ref(member["member"]) == "google_service_account.function.member"


def test_the_metrics_scope_holds_every_budget_project_but_the_host(root: Module) -> None:
    scoped = root.resource("google_monitoring_monitored_project", "watchdog")
    assert ref(scoped["for_each"]) == "local.watchdog_monitored_projects"
    assert scoped["metrics_scope"] == "locations/global/metricsScopes/${var.project_id}"
    assert "local.budget_projects" in root.locals["watchdog_monitored_projects"]


def test_only_the_scheduler_publishes_ticks_with_its_own_token(root: Module) -> None:
    binding = root.resource("google_pubsub_topic_iam_binding", "watchdog_publisher")
    assert binding["role"] == "roles/pubsub.publisher"
    assert binding["members"] == ["${google_service_account.scheduler.member}"]
    job = root.resource("google_cloud_scheduler_job", "watchdog")
    target = one(job["http_target"], "http_target")
    assert (
        target["uri"]
        == "https://pubsub.googleapis.com/v1/${google_pubsub_topic.watchdog.id}:publish"
    )
    token = one(target["oauth_token"], "oauth_token")
    assert ref(token["service_account_email"]) == "google_service_account.scheduler.email"
    assert ref(job["schedule"]) == "local.watchdog_schedule"
    # No other grant names the scheduler's account.
    for (rtype, name), body in root.resources.items():
        if (rtype, name) != ("google_pubsub_topic_iam_binding", "watchdog_publisher"):
            assert "google_service_account.scheduler.member" not in str(body), (rtype, name)


def test_watchdog_function_runs_the_second_entry_point_on_its_own_trigger(root: Module) -> None:
    function = root.resource("google_cloudfunctions2_function", "watchdog")
    assert function["name"] == "${var.name}-watchdog"
    build = one(function["build_config"], "build_config")
    assert build["entry_point"] == "usage_watchdog"
    main = ast.parse((REPO / "main.py").read_text(encoding="utf-8"))
    assert "usage_watchdog" in {n.name for n in main.body if isinstance(n, ast.FunctionDef)}
    source = one(one(build["source"], "source")["storage_source"], "storage_source")
    assert ref(source["object"]) == "google_storage_bucket_object.source.name"
    service = one(function["service_config"], "service_config")
    assert ref(service["timeout_seconds"]) == "var.watchdog_timeout_seconds"
    env = service["environment_variables"]
    assert env["BUDGET_GUARD_POLICY"] == "${module.policy.policy_json}"
    assert "var.watchdog_timeout_seconds - 15" in env["BUDGET_GUARD_DEADLINE_SECONDS"]
    assert service["max_instance_count"] == 1
    assert ref(service["service_account_email"]) == "google_service_account.function.email"
    trigger = one(function["event_trigger"], "event_trigger")
    assert ref(trigger["pubsub_topic"]) == "google_pubsub_topic.watchdog.id"
    assert ref(trigger["service_account_email"]) == "google_service_account.trigger.email"


WATCHDOG_RULES = [
    {"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]},
    {"name": "early", "threshold": 0.8, "basis": "estimate", "actions": ["notify"]},
    {
        "name": "burst",
        "basis": "rate",
        "window_minutes": 10,
        "amount": 20,
        "actions": ["notify", "revoke_keys"],
    },
    {
        "name": "spike",
        "basis": "baseline",
        "window_minutes": 60,
        "amount": 10,
        "multiple": 5,
        "actions": ["notify"],
    },
]


def test_rendered_watchdog_policy_passes_the_functions_validation(tf: Terraform) -> None:
    budgets = {BUDGET_ID: {"projects": ["gemini-prod"], "currency": "USD", "amount": 1000}}
    extra = {"watchdog": {"scope_project": "guard-host"}}
    out = tf.apply(sample(budgets=budgets, rules=WATCHDOG_RULES, extra=extra))
    doc = rendered(out)
    assert doc["rules"] == WATCHDOG_RULES  # no null keys rendered
    assert doc["budgets"][BUDGET_ID]["amount"] == 1000
    assert doc["watchdog"] == {
        "interval_minutes": 5,
        "reconcile_tolerance": 0.2,
        "scope_project": "guard-host",
    }
    policy = parse_policy(doc)
    assert [r.basis for r in policy.rules] == ["actual", "estimate", "rate", "baseline"]
    assert out["threshold_rules"] == [{"threshold_percent": 0.5, "spend_basis": "CURRENT_SPEND"}]


def test_watchdog_rules_without_their_keys_or_the_watchdog_are_refused(tf: Terraform) -> None:
    rate = {"name": "burst", "basis": "rate", "amount": 20, "actions": ["notify"]}
    error = tf.plan_error(sample(rules=[rate], extra={"watchdog": {}}))
    assert "rate and baseline rules need window_minutes" in error, error
    error = tf.plan_error(sample(rules=[{**rate, "window_minutes": 10}]))
    assert "need the usage watchdog" in error, error
