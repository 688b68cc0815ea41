"""infra/keys.tf: LEAKED_CREDENTIALS abuse events from each guarded project reach the leaked_key
function, and only the sinks may publish them (static checks of the parsed HCL)."""

from __future__ import annotations

from tests.infra.helpers import Module, ref


def test_a_sink_on_each_guarded_project_routes_only_leaked_credential_events(root: Module) -> None:
    sink = root.resource("google_logging_project_sink", "leaked_keys")
    assert "local.guarded_projects" in ref(sink["for_each"])
    assert ref(sink["destination"]).endswith("google_pubsub_topic.leaked_keys[0].id}")
    assert sink["unique_writer_identity"] is True
    filter_text = root.locals["leaked_key_filter"]
    assert 'logName:"abuseevent.googleapis.com%2Fabuse_events"' in filter_text
    assert 'jsonPayload.detectionType="LEAKED_CREDENTIALS"' in filter_text


def test_only_the_sinks_writer_identities_may_publish(root: Module) -> None:
    binding = root.resource("google_pubsub_topic_iam_binding", "leaked_keys_publisher")
    assert binding["role"] == "roles/pubsub.publisher"
    assert "google_logging_project_sink.leaked_keys" in ref(binding["members"])
    assert "s.writer_identity" in ref(binding["members"])
    others = [
        name
        for name, body in root.of_type("google_pubsub_topic_iam_member").items()
        if "leaked_keys" in str(body.get("topic"))
    ]
    assert others == []


def test_the_leaked_key_function_is_its_own_service_on_that_topic(root: Module) -> None:
    function = root.resource("google_cloudfunctions2_function", "leaked_key")
    assert function["name"] == "${var.name}-leaked-key"
    build = function["build_config"]
    build = build[0] if isinstance(build, list) else build
    assert build["entry_point"] == "leaked_key"
    trigger = function["event_trigger"]
    trigger = trigger[0] if isinstance(trigger, list) else trigger
    assert ref(trigger["pubsub_topic"]) == "google_pubsub_topic.leaked_keys[0].id"
    service = function["service_config"]
    service = service[0] if isinstance(service, list) else service
    assert ref(service["service_account_email"]) == "google_service_account.function.email"
    assert service["ingress_settings"] == "ALLOW_INTERNAL_ONLY"


def test_its_permissions_come_from_the_action_registry_through_the_policy_module(
    root: Module,
) -> None:
    policy = root.modules["policy"]
    assert ref(policy["extra_actions"]) == "local.leaked_key_actions"
    assert "revoke_leaked_key" in root.locals["leaked_key_actions"]
