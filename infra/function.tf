# --- source: only what the function needs, in a zip named by its hash ------------------------------

locals {
  source_dir = abspath(coalesce(var.source_dir, "${path.module}/.."))
}

# The file list: main.py, requirements.txt and functions/ only (see modules/source).
module "source" {
  source     = "./modules/source"
  source_dir = local.source_dir
}

# Built at plan time from the file contents only (sorted names, no timestamps, fixed mode), so the
# same code gives the same bytes and hash on every machine, and changed code a new hash.
data "archive_file" "source" {
  type             = "zip"
  output_path      = "${path.root}/.terraform/${var.name}-source.zip"
  output_file_mode = "0644"

  dynamic "source" {
    for_each = toset(module.source.files)
    content {
      filename = source.value
      content  = file("${local.source_dir}/${source.value}")
    }
  }
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Holds only build inputs Terraform re-uploads from the repository; access logging would need a second bucket for no secret data. Cloud Audit Logs cover admin access.
  project  = var.project_id
  name     = coalesce(var.source_bucket_name, "${var.project_id}-${var.name}-source")
  location = var.region
  labels   = var.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Holds nothing but build inputs that Terraform can re-upload: let destroy empty it.
  force_destroy = true

  versioning {
    enabled = true
  }

  # Replaced zips linger as noncurrent versions for a while (rollback, audit), then go.
  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
  }

  depends_on = [google_project_service.host]
}

# Named by the zip's SHA-256: new code -> new object name -> the function's storage_source
# changes -> Cloud Functions rebuilds and redeploys. Same code -> no change at all.
resource "google_storage_bucket_object" "source" {
  bucket       = google_storage_bucket.source.name
  name         = "${var.name}-${data.archive_file.source.output_sha256}.zip"
  source       = data.archive_file.source.output_path
  content_type = "application/zip"
}

# --- identities -----------------------------------------------------------------------------------

# The guard's own identity: everything it may do is granted to this account in iam.tf.
resource "google_service_account" "function" {
  project      = var.project_id
  account_id   = "${var.name}-fn"
  display_name = "Budget Guard function (${var.name})"
  description  = "Runs the Budget Guard function: custom role on guarded projects, ledger, events topic, key secret."
}

# The Eventarc trigger's identity: it may only invoke the function's service.
resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${var.name}-trigger"
  display_name = "Budget Guard trigger (${var.name})"
  description  = "Eventarc trigger identity: roles/run.invoker on the Budget Guard service only."
}

# --- the function ---------------------------------------------------------------------------------

resource "google_cloudfunctions2_function" "this" {
  project     = var.project_id
  location    = var.region
  name        = var.name
  description = "Budget Guard: acts on Cloud Billing budget notifications (policy in BUDGET_GUARD_POLICY)."
  labels      = var.labels

  build_config {
    runtime         = "python311"
    entry_point     = "budget_guard"
    service_account = var.build_service_account == null ? null : "projects/${var.project_id}/serviceAccounts/${var.build_service_account}"

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    # Serialized decisions: one instance, one request at a time. Extra deliveries wait in
    # Pub/Sub (429 -> retry with backoff) instead of racing for the same crossing.
    min_instance_count               = 0
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    available_memory                 = var.function_memory
    timeout_seconds                  = var.function_timeout_seconds

    # Reachable only from inside the project (Eventarc / Pub/Sub push), never from the internet.
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.function.email

    environment_variables = {
      BUDGET_GUARD_POLICY = module.policy.policy_json
      # The invocation's deadline (functions/deadline.py): the timeout less a 60 s margin for the
      # request in flight and the ledger writes of what is unfinished (half the timeout at least).
      BUDGET_GUARD_DEADLINE_SECONDS = tostring(max(var.function_timeout_seconds - 60, ceil(var.function_timeout_seconds / 2)))
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.alerts.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
  }

  depends_on = [
    google_project_service.host,
    # The guard can act the moment it is deployed.
    google_project_iam_member.ledger,
    google_project_iam_member.actions,
    google_pubsub_topic_iam_member.events_publisher,
    google_secret_manager_secret_iam_member.key_secret,
  ]
}
