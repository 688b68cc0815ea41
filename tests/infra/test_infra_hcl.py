"""HCL-level checks of infra/ (python-hcl2): wiring and least privilege the schema cannot see."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from functions.actions import REGISTRY
from tests.infra.helpers import INFRA, REPO, Module, load_module, module_dirs, ref, walk

PUBLIC = ("allUsers", "allAuthenticatedUsers")
BILLING_PUBLISHER = "serviceAccount:billing-budget-alert@system.gserviceaccount.com"


def one(blocks: Any, what: str) -> dict[str, Any]:
    """A nested block Terraform allows once: python-hcl2 gives a list of one."""
    assert isinstance(blocks, list) and len(blocks) == 1, (
        f"{what}: expected one block, got {blocks!r}"
    )
    block = blocks[0]
    assert isinstance(block, dict)
    return block


# --- the trigger listens where the budget publishes ------------------------------------------


def test_trigger_listens_on_the_budgets_topic(root: Module) -> None:
    function = root.resource("google_cloudfunctions2_function", "this")
    trigger = one(function["event_trigger"], "event_trigger")
    budget = root.resource("google_billing_budget", "this")
    updates = one(budget["all_updates_rule"], "all_updates_rule")

    topic = ref(trigger["pubsub_topic"])
    assert topic == ref(updates["pubsub_topic"]), "the trigger and the budget use different topics"
    match = re.fullmatch(r"google_pubsub_topic\.(\w+)\.id", topic)
    assert match, f"the trigger's topic is not a topic of this module: {topic}"
    root.resource("google_pubsub_topic", match.group(1))

    assert trigger["event_type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert trigger["retry_policy"] == "RETRY_POLICY_RETRY"
    assert updates["schema_version"] == "1.0"


def test_only_the_billing_service_may_publish_alerts(root: Module) -> None:
    topic_name = "${google_pubsub_topic.alerts.name}"
    bindings = [
        b
        for b in root.of_type("google_pubsub_topic_iam_binding").values()
        if b["topic"] == topic_name
    ]
    assert [b["role"] for b in bindings] == ["roles/pubsub.publisher"]
    assert bindings[0]["members"] == [BILLING_PUBLISHER]
    for rtype in ("google_pubsub_topic_iam_member", "google_pubsub_topic_iam_policy"):
        for name, body in root.of_type(rtype).items():
            assert body.get("topic") != topic_name, (
                f"{rtype}.{name} also grants on the alerts topic"
            )


def test_budget_avoids_the_http_400_and_uses_the_generated_rules(root: Module) -> None:
    budget = root.resource("google_billing_budget", "this")
    updates = one(budget["all_updates_rule"], "all_updates_rule")
    # Without monitoring channels, default IAM recipients must stay on (provider #12613, #24637).
    expr = ref(updates["disable_default_iam_recipients"])
    assert expr == (
        "length(var.budget_notification_channels) > 0 ? var.disable_default_iam_recipients : false"
    ), expr
    dynamic = one(budget["dynamic"], "dynamic")["threshold_rules"]
    assert ref(dynamic["for_each"]) == "module.policy.threshold_rules"


def test_credit_treatment_defaults_to_gross_cost(root: Module) -> None:
    budgets_type = root.variables["budgets"]["type"]
    assert 'credit_types_treatment = optional(string, "EXCLUDE_ALL_CREDITS")' in " ".join(
        budgets_type.split()
    )


# --- the function --------------------------------------------------------------------------------


def test_function_is_serialized_internal_and_runs_the_rendered_policy(root: Module) -> None:
    function = root.resource("google_cloudfunctions2_function", "this")
    build = one(function["build_config"], "build_config")
    service = one(function["service_config"], "service_config")

    assert build["runtime"] == "python311"
    assert build["entry_point"] == "budget_guard"
    main = ast.parse((REPO / "main.py").read_text(encoding="utf-8"))
    assert "budget_guard" in {n.name for n in main.body if isinstance(n, ast.FunctionDef)}

    assert service["max_instance_count"] == 1
    assert service["max_instance_request_concurrency"] == 1
    assert service["ingress_settings"] == "ALLOW_INTERNAL_ONLY"
    assert service["environment_variables"] == {
        "BUDGET_GUARD_POLICY": "${module.policy.policy_json}",
        # the deadline ends before the timeout (functions/deadline.py)
        "BUDGET_GUARD_DEADLINE_SECONDS": "${tostring(max(var.function_timeout_seconds - 60, "
        "ceil(var.function_timeout_seconds / 2)))}",
    }
    assert ref(service["service_account_email"]) == "google_service_account.function.email"
    trigger = one(function["event_trigger"], "event_trigger")
    assert ref(trigger["service_account_email"]) == "google_service_account.trigger.email"


def test_source_zip_is_named_by_its_hash_and_holds_only_the_function(root: Module) -> None:
    archive = root.data[("archive_file", "source")]
    source = one(archive["dynamic"], "dynamic")["source"]
    assert ref(source["for_each"]) == "toset(module.source.files)"
    assert "source_dir" not in archive and "excludes" not in archive, (
        "zip the allow-list, not a directory"
    )
    assert root.modules["source"]["source"] == "./modules/source"

    obj = root.resource("google_storage_bucket_object", "source")
    assert "${data.archive_file.source.output_sha256}" in obj["name"]
    function = root.resource("google_cloudfunctions2_function", "this")
    storage = one(
        one(one(function["build_config"], "build")["source"], "source")["storage_source"], "s"
    )
    assert ref(storage["object"]) == "google_storage_bucket_object.source.name"


def test_source_module_never_ships_tests_or_the_stand_in(source_module: Module) -> None:
    excluded = set(source_module.locals["exclude_dirs"])
    assert {"tests/", "standin/", "local/", "bench/", "infra/"} <= excluded
    include = source_module.locals["include"]
    assert set(include) == {"main.py", "requirements.txt", "functions/**"}


# --- IAM -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", module_dirs(), ids=lambda p: p.relative_to(INFRA.parent).as_posix()
)
def test_nothing_is_granted_to_the_public(path: Any) -> None:
    module = load_module(path)
    for file, doc in module.raw.items():
        for where, value in walk(doc):
            if isinstance(value, str):
                for principal in PUBLIC:
                    assert principal not in value, (
                        f"{path.name}/{file}: {where} mentions {principal}"
                    )


def test_custom_role_permissions_match_the_action_registry(policy_module: Module) -> None:
    """The permissions Terraform grants per action are exactly those the code declares."""
    declared = {name: set(cls.permissions) for name, cls in REGISTRY.items()}
    granted = {
        name: set(perms) for name, perms in policy_module.locals["permissions_by_action"].items()
    }
    assert set(granted) == set(declared), (
        f"actions only in Terraform: {sorted(set(granted) - set(declared))}; "
        f"only in functions.actions.REGISTRY: {sorted(set(declared) - set(granted))}"
    )
    for action in sorted(declared):
        extra, missing = granted[action] - declared[action], declared[action] - granted[action]
        assert not extra, (
            f"{action}: Terraform grants permissions the code does not declare: {sorted(extra)}"
        )
        assert not missing, (
            f"{action}: Terraform misses permissions the code declares: {sorted(missing)}"
        )
    union = ref(policy_module.locals["custom_role_permissions"])
    assert "local.permissions_by_action[a]" in union and "local.actions_used" in union


def test_custom_role_is_the_policy_union_on_guarded_projects_only(root: Module) -> None:
    role = root.resource("google_project_iam_custom_role", "actions")
    assert ref(role["permissions"]) == "module.policy.custom_role_permissions"
    assert "local.guarded_projects" in role["for_each"]
    assert ref(role["project"]) == "each.key"
    binding = root.resource("google_project_iam_member", "actions")
    assert ref(binding["for_each"]) == "google_project_iam_custom_role.actions"
    assert ref(binding["role"]) == "each.value.name"
    assert ref(binding["member"]) == "google_service_account.function.member"


def test_project_level_grants_are_the_custom_role_and_the_conditional_ledger_role(
    root: Module,
) -> None:
    grants = root.of_type("google_project_iam_member")
    assert set(grants) == {"actions", "ledger"}
    for rtype in ("google_project_iam_binding", "google_project_iam_policy"):
        assert not root.of_type(rtype), f"{rtype} is authoritative and too broad for this module"
    ledger = grants["ledger"]
    assert ledger["role"] == "roles/datastore.user"
    condition = one(ledger["condition"], "condition")
    assert condition["expression"] == (
        'resource.name == "projects/${var.project_id}/databases/'
        '${google_firestore_database.ledger.name}"'
    )


def test_trigger_may_invoke_only_the_functions_service(root: Module) -> None:
    invokers = [
        (rtype, name, body)
        for (rtype, name), body in root.resources.items()
        if body.get("role") in ("roles/run.invoker", "roles/cloudfunctions.invoker")
    ]
    assert [(t, n) for t, n, _ in invokers] == [
        ("google_cloud_run_v2_service_iam_member", "trigger_invoker")
    ]
    body = invokers[0][2]
    assert ref(body["name"]) == "google_cloudfunctions2_function.this.name"
    assert ref(body["member"]) == "google_service_account.trigger.member"


def test_secret_and_events_grants_are_resource_scoped(root: Module) -> None:
    secret = root.resource("google_secret_manager_secret_iam_member", "key_secret")
    assert secret["role"] == "roles/secretmanager.secretVersionAdder"
    assert "rotate_keys" in secret["for_each"]
    # one grant per secret the rotations write to (one per guarded project with {project})
    assert "local.key_secret_ids" in secret["for_each"]
    assert secret["secret_id"] == "${each.key}"
    made = root.resource("google_secret_manager_secret", "keys")
    assert "local.key_secret_ids" in made["for_each"] and made["secret_id"] == "${each.key}"
    events = root.resource("google_pubsub_topic_iam_member", "events_publisher")
    assert events["topic"] == "${google_pubsub_topic.events.name}"
    assert events["role"] == "roles/pubsub.publisher"
    assert ref(events["member"]) == "google_service_account.function.member"


def test_act_as_is_granted_on_the_listed_service_accounts_only(root: Module) -> None:
    """Binding a replacement key to an account needs actAs on it: never on a project."""
    grant = root.resource("google_service_account_iam_member", "key_service_account_user")
    assert grant["role"] == "roles/iam.serviceAccountUser"
    assert "rotate_keys" in grant["for_each"] and "var.key_service_accounts" in grant["for_each"]
    assert "${each.key}" in grant["service_account_id"]
    assert ref(grant["member"]) == "google_service_account.function.member"
    for rtype in ("google_project_iam_member", "google_project_iam_binding"):
        for body in root.of_type(rtype).values():
            assert body.get("role") != "roles/iam.serviceAccountUser"


def test_dead_letters_are_kept_and_the_trigger_subscription_points_at_them(root: Module) -> None:
    dlq = root.resource("google_pubsub_subscription", "dead_letter")
    assert dlq["topic"] == "${google_pubsub_topic.dead_letter.id}"
    attach = root.resource("terraform_data", "trigger_dead_letter")
    env = one(attach["provisioner"], "provisioner")["local-exec"]["environment"]
    assert ref(env["TRIGGER"]) == "google_cloudfunctions2_function.this.event_trigger[0].trigger"
    assert ref(env["DEAD_LETTER"]) == "google_pubsub_topic.dead_letter.id"


# --- style ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", module_dirs(), ids=lambda p: p.relative_to(INFRA.parent).as_posix()
)
def test_every_variable_is_typed_and_described(path: Any) -> None:
    module = load_module(path)
    for name, body in module.variables.items():
        assert "type" in body, f"{path.name}: variable {name} has no type"
        assert len(body.get("description", "")) >= 20, (
            f"{path.name}: variable {name} needs a description"
        )
    for name, body in module.outputs.items():
        assert body.get("description"), f"{path.name}: output {name} needs a description"


def test_readme_documents_every_input_and_output(root: Module) -> None:
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    for kind, names in (("input", root.variables), ("output", root.outputs)):
        for name in names:
            assert f"| `{name}` |" in readme, f"infra/README.md does not document {kind} {name}"
