# --- alerts: the budgets publish here, the function's trigger listens ----------------------------

resource "google_pubsub_topic" "alerts" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest; the messages carry budget amounts and IDs, no secrets, and CMEK is an organization choice this module does not impose.
  project = var.project_id
  name    = "${var.name}-alerts"
  labels  = var.labels

  # Keep a day of notifications for replay (seek) after an incident.
  message_retention_duration = "86400s"

  depends_on = [google_project_service.host]
}

# Authoritative for roles/pubsub.publisher on this topic: the Cloud Billing budget service is the
# only principal granted publish on the topic itself (anyone who can publish can trigger the
# guard; the function also checks billingAccountId, budgetId and schemaVersion).
resource "google_pubsub_topic_iam_binding" "alerts_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.alerts.name
  role    = "roles/pubsub.publisher"
  members = ["serviceAccount:billing-budget-alert@system.gserviceaccount.com"]
}

# --- events: what notify publishes for other systems ---------------------------------------------

resource "google_pubsub_topic" "events" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest; the messages carry budget amounts and IDs, no secrets, and CMEK is an organization choice this module does not impose.
  project = var.project_id
  name    = "${var.name}-events"
  labels  = var.labels

  message_retention_duration = "604800s"

  depends_on = [google_project_service.host]
}

resource "google_pubsub_topic_iam_member" "events_publisher" {
  count = contains(module.policy.actions_used, "notify") ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.events.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.function.member
}

# --- dead letters: notifications the function failed to take after every retry -------------------

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest; the messages carry budget amounts and IDs, no secrets, and CMEK is an organization choice this module does not impose.
  project = var.project_id
  name    = "${var.name}-dead-letter"
  labels  = var.labels

  depends_on = [google_project_service.host]
}

# Messages published to a topic without subscriptions are lost: this one keeps them 7 days for a
# human (and the dead-letter alert in monitoring.tf) to look at.
resource "google_pubsub_subscription" "dead_letter" {
  project = var.project_id
  name    = "${var.name}-dead-letter"
  topic   = google_pubsub_topic.dead_letter.id
  labels  = var.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  retain_acked_messages      = true

  expiration_policy {
    ttl = "" # never expires, even when nobody pulls
  }
}

locals {
  pubsub_service_agent = "serviceAccount:service-${data.google_project.host.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# Pub/Sub forwards dead letters as its service agent: it must publish to the dead-letter topic
# (and subscribe to the source subscription, granted by terraform_data.trigger_dead_letter).
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

# The function's Eventarc trigger makes its own push subscription on the alerts topic, and neither
# google_cloudfunctions2_function nor google_eventarc_trigger can set its dead-letter policy
# (terraform-provider-google #17697, #25069). Google's documented way is to look the subscription
# up on the trigger and update it (cloud.google.com/eventarc/docs/retry-events); this does that
# after every (re)creation of the trigger. It needs gcloud on the machine running terraform;
# attach_dead_letter_policy = false skips it.
resource "terraform_data" "trigger_dead_letter" {
  count = var.attach_dead_letter_policy ? 1 : 0

  triggers_replace = [
    google_cloudfunctions2_function.this.event_trigger[0].trigger,
    google_pubsub_topic.dead_letter.id,
    var.dead_letter_max_delivery_attempts,
  ]

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-c"]
    environment = {
      TRIGGER                       = google_cloudfunctions2_function.this.event_trigger[0].trigger
      DEAD_LETTER                   = google_pubsub_topic.dead_letter.id
      ATTEMPTS                      = tostring(var.dead_letter_max_delivery_attempts)
      PUBSUB_AGENT                  = local.pubsub_service_agent
      CLOUDSDK_CORE_DISABLE_PROMPTS = "1"
    }
    command = <<-EOT
      set -euo pipefail
      command -v gcloud >/dev/null || { echo "gcloud not found: install the Google Cloud SDK or set attach_dead_letter_policy = false" >&2; exit 1; }
      # TRIGGER is projects/P/locations/L/triggers/T
      IFS=/ read -r _ project _ location _ trigger <<<"$TRIGGER"
      sub=$(gcloud eventarc triggers describe "$trigger" --project="$project" --location="$location" \
        --format='value(transport.pubsub.subscription)')
      [ -n "$sub" ] || { echo "trigger $TRIGGER has no Pub/Sub subscription" >&2; exit 1; }
      gcloud pubsub subscriptions update "$sub" --dead-letter-topic="$DEAD_LETTER" \
        --max-delivery-attempts="$ATTEMPTS" --quiet
      gcloud pubsub subscriptions add-iam-policy-binding "$sub" --member="$PUBSUB_AGENT" \
        --role=roles/pubsub.subscriber --quiet >/dev/null
      echo "dead-letter policy attached to $sub: $DEAD_LETTER after $ATTEMPTS attempts"
    EOT
  }

  depends_on = [
    google_pubsub_topic_iam_member.dead_letter_publisher,
    google_pubsub_subscription.dead_letter,
  ]
}
