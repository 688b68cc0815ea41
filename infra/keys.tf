# rotate_keys binds each replacement of an auth key to the old key's service account, which
# Google allows only to a caller with iam.serviceAccounts.actAs on that account. Granted here on
# the accounts listed in var.key_service_accounts only (never on a project), and only when a
# rule uses rotate_keys. `budget-guard check` tests the grant for every bound key it would rotate.
resource "google_service_account_iam_member" "key_service_account_user" {
  for_each = contains(module.policy.actions_used, "rotate_keys") ? toset(var.key_service_accounts) : toset([])

  service_account_id = "projects/${regex("@([a-z][a-z0-9-]+)\\.iam\\.gserviceaccount\\.com$", each.key)[0]}/serviceAccounts/${each.key}"
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.function.member
}

# --- leaked-key events: Google's abuse event -> this topic -> leaked_key revokes that key -------
#
# Google writes a LEAKED_CREDENTIALS abuse event to the project's log
# abuseevent.googleapis.com%2Fabuse_events when it finds one of its API keys in public
# (docs.cloud.google.com/logging/docs/api/platform-logs). A sink on each guarded project routes
# those entries, and nothing else, to one topic; its writer identities are the only publishers
# (anyone who can publish could name a key to revoke). The second function verifies each entry
# (guarded project, log name, payload type, a key that exists there) and revokes exactly that key,
# once (functions/leakhandler.py). It runs as the guard's service account: the custom role holds
# what revoke_leaked_key declares (module.policy extra_actions).

locals {
  leaked_key_enabled = var.leaked_key_events && length(local.guarded_projects) > 0
  leaked_key_actions = var.leaked_key_events ? ["notify", "revoke_leaked_key"] : []
  leaked_key_filter  = "logName:\"abuseevent.googleapis.com%2Fabuse_events\" AND jsonPayload.detectionType=\"LEAKED_CREDENTIALS\""
}

resource "google_pubsub_topic" "leaked_keys" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest; CMEK is an organization choice this module does not impose. The entries may name a key string: only the sinks publish, only the function's trigger reads.
  count = local.leaked_key_enabled ? 1 : 0

  project = var.project_id
  name    = "${var.name}-leaked-keys"
  labels  = var.labels

  message_retention_duration = "86400s"

  depends_on = [google_project_service.host]
}

resource "google_logging_project_sink" "leaked_keys" {
  for_each = local.leaked_key_enabled ? local.guarded_projects : toset([])

  project     = each.key
  name        = "${var.name}-leaked-keys"
  description = "LEAKED_CREDENTIALS abuse events to the Budget Guard leaked-key function (${var.project_id}/${var.name})."
  destination = "pubsub.googleapis.com/${google_pubsub_topic.leaked_keys[0].id}"
  filter      = local.leaked_key_filter

  # A service account of its own per sink: the topic's publisher binding names exactly these.
  unique_writer_identity = true
}

# Authoritative: the sinks' writer identities are the only principals that may publish.
resource "google_pubsub_topic_iam_binding" "leaked_keys_publisher" {
  count = local.leaked_key_enabled ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.leaked_keys[0].name
  role    = "roles/pubsub.publisher"
  members = sort([for s in google_logging_project_sink.leaked_keys : s.writer_identity])
}

resource "google_cloudfunctions2_function" "leaked_key" {
  count = local.leaked_key_enabled ? 1 : 0

  project     = var.project_id
  location    = var.region
  name        = "${var.name}-leaked-key"
  description = "Budget Guard: revokes the API key a LEAKED_CREDENTIALS abuse event names (policy in BUDGET_GUARD_POLICY)."
  labels      = var.labels

  build_config {
    runtime         = "python311"
    entry_point     = "leaked_key"
    service_account = var.build_service_account == null ? null : "projects/${var.project_id}/serviceAccounts/${var.build_service_account}"

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    min_instance_count               = 0
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    available_memory                 = var.function_memory
    timeout_seconds                  = var.function_timeout_seconds

    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.function.email

    environment_variables = {
      BUDGET_GUARD_POLICY = module.policy.policy_json
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.leaked_keys[0].id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
  }

  depends_on = [
    google_project_service.host,
    google_project_iam_member.ledger,
    google_project_iam_member.actions,
    google_pubsub_topic_iam_member.events_publisher,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "leaked_key_invoker" {
  count = local.leaked_key_enabled ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.leaked_key[0].name
  role     = "roles/run.invoker"
  member   = google_service_account.trigger.member
}
