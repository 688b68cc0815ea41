/**
 * The usage watchdog: a Cloud Scheduler job publishes a tick to its own topic every
 * var.watchdog_interval_minutes; a second function (same source, entry point usage_watchdog,
 * Cloud Run service "${var.name}-watchdog") reads Gemini usage from Cloud Monitoring over the host
 * project's metrics scope, prices it and acts through the same policy, ledger and identity as the
 * budget function. See README "Usage watchdog".
 */

locals {
  # The policy's watchdog section (modules/policy renders it into BUDGET_GUARD_POLICY).
  watchdog_policy = {
    interval_minutes    = var.watchdog_interval_minutes
    scope_project       = var.project_id
    unknown_model_rate  = var.watchdog_unknown_model_rate
    reconcile_tolerance = var.watchdog_reconcile_tolerance
  }

  # What the watchdog reads on the metrics scope (host) project: the Terraform copy of
  # functions.watchdog.config.READ_PERMISSIONS (tests/infra fails if they differ).
  watchdog_read_permissions = [
    "monitoring.metricDescriptors.list",
    "monitoring.timeSeries.list",
  ]

  # The host project is in its own metrics scope already; every other budget project joins it,
  # protected ones too (their usage counts towards the budget's estimate; nothing acts on them).
  watchdog_monitored_projects = setsubtract(local.budget_projects, [var.project_id])

  # Cron for "every N minutes" (N from 1 to 60).
  watchdog_schedule = var.watchdog_interval_minutes == 60 ? "0 * * * *" : "*/${var.watchdog_interval_minutes} * * * *"
}

resource "google_project_service" "watchdog" {
  for_each = var.enable_apis ? toset(["cloudscheduler.googleapis.com"]) : toset([])

  project = var.project_id
  service = each.key

  disable_on_destroy         = false
  disable_dependent_services = false
}

# --- the tick: Scheduler -> topic ----------------------------------------------------------------

resource "google_pubsub_topic" "watchdog" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest; a tick carries no data at all (its publish time is the message).
  project = var.project_id
  name    = "${var.name}-watchdog-ticks"
  labels  = var.labels

  # A tick older than an hour is worth nothing: the next one catches up.
  message_retention_duration = "3600s"

  depends_on = [google_project_service.host]
}

# The Scheduler job's identity: it may publish to the tick topic and do nothing else.
resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${var.name}-sched"
  display_name = "Budget Guard watchdog scheduler (${var.name})"
  description  = "Cloud Scheduler identity: roles/pubsub.publisher on the watchdog tick topic only."
}

# Authoritative for publish on the tick topic: only the scheduler's account.
resource "google_pubsub_topic_iam_binding" "watchdog_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.watchdog.name
  role    = "roles/pubsub.publisher"
  members = [google_service_account.scheduler.member]
}

# A Pub/Sub target would publish as the Cloud Scheduler service agent, which holds publish on
# every topic of the project; an HTTP target calling topics.publish with the scheduler's own
# OAuth token keeps it to this one topic. The message's publishTime is the watchdog's "now".
resource "google_cloud_scheduler_job" "watchdog" {
  project     = var.project_id
  region      = var.region
  name        = "${var.name}-watchdog"
  description = "Budget Guard usage watchdog tick (every ${var.watchdog_interval_minutes} min)."
  schedule    = local.watchdog_schedule
  time_zone   = "Etc/UTC"
  # Shorter than the interval: a tick that cannot be published in time is superseded by the next.
  attempt_deadline = "30s"

  retry_config {
    retry_count          = 1
    min_backoff_duration = "5s"
    max_backoff_duration = "10s"
  }

  http_target {
    http_method = "POST"
    uri         = "https://pubsub.googleapis.com/v1/${google_pubsub_topic.watchdog.id}:publish"
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode({ messages = [{ data = base64encode("tick") }] }))

    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/pubsub"
    }
  }

  depends_on = [google_project_service.watchdog, google_pubsub_topic_iam_binding.watchdog_publisher]
}

# --- reading usage: the host project's metrics scope ---------------------------------------------

resource "google_monitoring_monitored_project" "watchdog" {
  for_each = local.watchdog_monitored_projects

  metrics_scope = "locations/global/metricsScopes/${var.project_id}"
  name          = each.key
}

# Exactly the two read permissions, on the scoping project only (roles/monitoring.viewer holds
# dashboards, alert policies, uptime checks... the watchdog needs none of them).
resource "google_project_iam_custom_role" "watchdog_reader" {
  project     = var.project_id
  role_id     = substr("${var.custom_role_id}Watchdog", 0, 64)
  title       = "Budget Guard watchdog usage reader"
  description = "Read Gemini usage time series over the metrics scope of ${var.project_id} (managed by Terraform, ${var.name})."
  permissions = local.watchdog_read_permissions
  stage       = "GA"
}

resource "google_project_iam_member" "watchdog_reader" {
  project = var.project_id
  role    = google_project_iam_custom_role.watchdog_reader.name
  member  = google_service_account.function.member
}

# --- the watchdog function -----------------------------------------------------------------------

resource "google_cloudfunctions2_function" "watchdog" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name}-watchdog"
  description = "Budget Guard usage watchdog: acts on estimated Gemini spend from Cloud Monitoring (policy in BUDGET_GUARD_POLICY)."
  labels      = var.labels

  build_config {
    runtime         = "python311"
    entry_point     = "usage_watchdog"
    service_account = var.build_service_account == null ? null : "projects/${var.project_id}/serviceAccounts/${var.build_service_account}"

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    # One tick at a time: two would settle the same minutes (the state update is conditional,
    # so they would not double count, but one of them would redo its work).
    min_instance_count               = 0
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    available_memory                 = var.function_memory
    timeout_seconds                  = var.watchdog_timeout_seconds

    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    # The guard's own identity: the same brakes, ledger and events topic.
    service_account_email = google_service_account.function.email

    environment_variables = {
      BUDGET_GUARD_POLICY           = module.policy.policy_json
      BUDGET_GUARD_DEADLINE_SECONDS = tostring(var.watchdog_timeout_seconds - 15)
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.watchdog.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
  }

  depends_on = [
    google_project_service.host,
    google_project_iam_member.ledger,
    google_project_iam_member.actions,
    google_project_iam_member.watchdog_reader,
    google_monitoring_monitored_project.watchdog,
    google_pubsub_topic_iam_member.events_publisher,
    google_secret_manager_secret_iam_member.key_secret,
  ]
}

# The trigger's identity may invoke this service too (and still nothing else).
resource "google_cloud_run_v2_service_iam_member" "watchdog_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.watchdog.name
  role     = "roles/run.invoker"
  member   = google_service_account.trigger.member
}
