locals {
  # Gen2 functions log as their Cloud Run service; older log views use cloud_function.
  function_logs = <<-EOT
    ((resource.type="cloud_run_revision" AND resource.labels.service_name="${var.name}")
     OR (resource.type="cloud_function" AND resource.labels.function_name="${var.name}"))
  EOT
}

# The guard logs ERROR only when it failed to act (a permission to fix, a locked billing link, an
# action that gave up): a human must look.
resource "google_monitoring_alert_policy" "errors" {
  project      = var.project_id
  display_name = "Budget Guard ${var.name}: failed to act (ERROR log)"
  combiner     = "OR"
  severity     = "CRITICAL"
  enabled      = true

  notification_channels = var.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "ERROR logged by ${var.name} or ${var.name}-watchdog"
    condition_matched_log {
      # The guard and its usage watchdog: both run the brakes (local.guard_logs, alerts.tf).
      filter = "${local.guard_logs} AND severity>=ERROR"
      label_extractors = {
        rule    = "EXTRACT(jsonPayload.rule)"
        project = "EXTRACT(jsonPayload.project)"
        action  = "EXTRACT(jsonPayload.action)"
      }
    }
  }

  alert_strategy {
    # Required for log-based alerts: at most one notification per period while errors continue.
    notification_rate_limit {
      period = "${var.alert_notification_rate_limit_seconds}s"
    }
    auto_close = "${var.alert_auto_close_seconds}s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Budget Guard ${var.name} failed to act"
    content   = <<-EOT
      The Budget Guard function `${var.name}` (project `${var.project_id}`) logged an ERROR: a
      threshold was crossed and an action failed for good (missing permission, locked billing
      link, a service that refused to be disabled...). Spend may still be running.

      1. Read the log entry: it names the rule, the project and the fix.
      2. Fix it, then check the ledger (Firestore database `${var.ledger_database}`) or publish a
         test notification (see infra/README.md).
    EOT
  }

  depends_on = [google_project_service.host]
}

# Notifications that exhausted every delivery attempt: the guard never judged them.
resource "google_monitoring_alert_policy" "dead_letters" {
  project      = var.project_id
  display_name = "Budget Guard ${var.name}: notifications dead-lettered"
  combiner     = "OR"
  severity     = "ERROR"
  enabled      = true

  notification_channels = var.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "Messages waiting in ${google_pubsub_subscription.dead_letter.name}"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "${var.alert_auto_close_seconds}s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Budget Guard ${var.name}: budget notifications dead-lettered"
    content   = <<-EOT
      Budget notifications reached the dead-letter subscription
      `${google_pubsub_subscription.dead_letter.name}` after
      ${var.dead_letter_max_delivery_attempts} failed deliveries to `${var.name}`. Look at the
      function's logs for the cause, fix it, then pull the messages
      (`gcloud pubsub subscriptions pull ${google_pubsub_subscription.dead_letter.name} --project=${var.project_id} --limit=10`)
      and republish them to the alerts topic if they still matter. Budgets notify several
      times a day, so the next notification also re-evaluates every rule.
    EOT
  }

  depends_on = [google_project_service.host]
}
