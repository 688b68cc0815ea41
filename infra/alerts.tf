# Alerts where teams already look: every threshold crossing, and a heartbeat that notices a guard
# (or its watchdog) gone silent. Delivered by Cloud Monitoring to var.notification_channels
# (e-mail, Slack, PagerDuty...: see README "Alert channels"); no channel is created here.
#
# The filters use a small subset of the Logging query language (AND/OR/NOT, =, :, >=, brackets,
# resource./severity/jsonPayload. fields) that tests/infra/logquery.py evaluates against the lines
# a real run of the guard writes.

locals {
  # The usage watchdog runs as its own Cloud Run service, "<name>-watchdog".
  watchdog_logs = <<-EOT
    (resource.type="cloud_run_revision" AND resource.labels.service_name="${var.name}-watchdog")
  EOT

  # The guard and its watchdog: both run the same executor and actions, so both write crossings,
  # action outcomes and ERRORs.
  guard_logs = "(${trimspace(local.function_logs)} OR ${trimspace(local.watchdog_logs)})"

  # One line per crossing: the ledger lets one delivery claim it; a resumed claim logs
  # "crossing claimed (resuming)" and is not matched by "=". Budget and watchdog crossings alike.
  crossing_filter = "${local.guard_logs} AND jsonPayload.message=\"crossing claimed\""

  # A budget notification the guard judged (acting or not); rejected and foreign messages do not
  # count, so noise on the topic cannot hide a dead budget.
  budget_heartbeat_filter = "${trimspace(local.function_logs)} AND (jsonPayload.message=\"notification handled\" OR jsonPayload.message=\"under every threshold\")"

  watchdog_heartbeat_filter = "${trimspace(local.watchdog_logs)} AND jsonPayload.message=\"watchdog tick\""

  # Cloud Monitoring sends at most one notification per 5 minutes (and 20 a day) per log-based
  # policy, whatever the labels: one delivery that crosses warn and stop, or one rule crossing on
  # several projects, would lose all but the first. So one policy per (rule, project); a pair
  # crosses at most once per budget and period.
  crossing_alerts = {
    for pair in setproduct([for r in var.rules : r.name], sort(tolist(local.budget_projects))) :
    "${pair[0]}/${pair[1]}" => { rule = pair[0], project = pair[1] }
  }

  heartbeat_budget_seconds   = var.heartbeat_budget_hours * 3600
  heartbeat_watchdog_seconds = var.heartbeat_watchdog_missed_ticks * var.watchdog_interval_minutes * 60
}

# --- crossings --------------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "crossing" {
  for_each = local.crossing_alerts

  project      = var.project_id
  display_name = "Budget Guard ${var.name}: rule ${each.value.rule} crossed on ${each.value.project}"
  combiner     = "OR"
  severity     = "WARNING"
  enabled      = true

  notification_channels = var.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "Crossing of ${each.value.rule} on ${each.value.project} claimed"
    condition_matched_log {
      filter = "${local.crossing_filter} AND jsonPayload.rule=\"${each.value.rule}\" AND jsonPayload.project=\"${each.value.project}\""
      # One incident per crossing: the crossing id is a label, and the ledger writes its line once.
      label_extractors = {
        rule     = "EXTRACT(jsonPayload.rule)"
        project  = "EXTRACT(jsonPayload.project)"
        budget   = "EXTRACT(jsonPayload.budget)"
        spend    = "EXTRACT(jsonPayload.cost)"
        actions  = "EXTRACT(jsonPayload.actions_planned)"
        reason   = "EXTRACT(jsonPayload.reason)"
        dry_run  = "EXTRACT(jsonPayload.dry_run)"
        crossing = "EXTRACT(jsonPayload.crossing)"
      }
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "${var.alert_notification_rate_limit_seconds}s"
    }
    auto_close = "${var.alert_auto_close_seconds}s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "Budget Guard: rule ${each.value.rule} crossed on ${each.value.project}"
    content   = <<-EOT
      **What fired.** Rule `$${log.extracted_label.rule}` of the Budget Guard `${var.name}`
      (project `${var.project_id}`) crossed its threshold for project
      `$${log.extracted_label.project}`, budget `$${log.extracted_label.budget}`:
      $${log.extracted_label.reason} (spend so far $${log.extracted_label.spend}).

      **What the guard does.** It runs, in order: `$${log.extracted_label.actions}`
      (dry run: `$${log.extracted_label.dry_run}`; in a dry run nothing is changed). It acts once
      per crossing (id `$${log.extracted_label.crossing}`); the outcome of every action is in the
      ledger (Firestore database `${var.ledger_database}`):

          budget-guard status --project $${log.extracted_label.project}

      A failed action opens a separate "failed to act" incident.

      **How to restore.** Find and fix the cause first (a leaked key, a runaway job). Then undo
      the brakes (link billing back, re-enable the services, undelete revoked keys):

          budget-guard restore --project $${log.extracted_label.project}

      The crossing stays latched: the guard will not act on it again this period (docs/CLI.md).
    EOT
  }

  depends_on = [google_project_service.host]
}

# --- heartbeat ----------------------------------------------------------------------------------

resource "google_logging_metric" "notifications_handled" {
  project     = var.project_id
  name        = "${var.name}/notifications_handled"
  description = "Budget notifications the Budget Guard ${var.name} judged (under every threshold, or crossings handled)."
  filter      = local.budget_heartbeat_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Budget Guard ${var.name}: budget notifications handled"
    labels {
      key         = "budget"
      value_type  = "STRING"
      description = "Budget id of the notification."
    }
  }
  label_extractors = {
    budget = "EXTRACT(jsonPayload.budget)"
  }

  depends_on = [google_project_service.host]
}

resource "google_logging_metric" "watchdog_ticks" {
  project     = var.project_id
  name        = "${var.name}/watchdog_ticks"
  description = "Ticks the usage watchdog ${var.name}-watchdog completed."
  filter      = local.watchdog_heartbeat_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Budget Guard ${var.name}: watchdog ticks"
  }

  depends_on = [google_project_service.host]
}

# Silence: no budget notification judged for heartbeat_budget_hours.
resource "google_monitoring_alert_policy" "budget_heartbeat" {
  project      = var.project_id
  display_name = "Budget Guard ${var.name}: no budget notification for ${var.heartbeat_budget_hours} h"
  combiner     = "OR"
  severity     = "ERROR"
  enabled      = true

  notification_channels = var.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "No budget notification handled by ${var.name}"
    condition_absent {
      filter   = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.notifications_handled.name}\""
      duration = "${local.heartbeat_budget_seconds}s"

      # One series for the whole guard: per-revision series end at every deploy, per-budget
      # series would alert for a budget that was removed.
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
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
    subject   = "Budget Guard ${var.name}: no budget notification for ${var.heartbeat_budget_hours} h"
    content   = <<-EOT
      The Budget Guard `${var.name}` (project `${var.project_id}`) has judged no budget
      notification for ${var.heartbeat_budget_hours} hours. Budgets notify several times a day,
      so the guard is blind: thresholds are not enforced.

      Check, in order: the budgets still publish to `${google_pubsub_topic.alerts.name}`
      (`gcloud billing budgets list --billing-account=${var.billing_account}`); the Eventarc
      trigger of `${var.name}` exists and its subscription is not backlogged; the function starts
      (its logs show a policy ERROR if it cannot). Then publish a test notification (infra/README.md
      "Dry-run test"); this incident closes when notifications are handled again.
    EOT
  }

  depends_on = [google_project_service.host]
}

# Silence: the watchdog missed heartbeat_watchdog_missed_ticks ticks in a row.
resource "google_monitoring_alert_policy" "watchdog_heartbeat" {
  project      = var.project_id
  display_name = "Budget Guard ${var.name}: watchdog missed ${var.heartbeat_watchdog_missed_ticks} ticks"
  combiner     = "OR"
  severity     = "ERROR"
  enabled      = true

  notification_channels = var.notification_channels
  user_labels           = var.labels

  conditions {
    display_name = "No tick from ${var.name}-watchdog"
    condition_absent {
      filter   = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.watchdog_ticks.name}\""
      duration = "${local.heartbeat_watchdog_seconds}s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
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
    subject   = "Budget Guard ${var.name}: watchdog missed ${var.heartbeat_watchdog_missed_ticks} ticks"
    content   = <<-EOT
      The usage watchdog `${var.name}-watchdog` (project `${var.project_id}`) logged no tick for
      ${var.heartbeat_watchdog_missed_ticks} x ${var.watchdog_interval_minutes} minutes. Between
      budget notifications nothing estimates Gemini spend now.

      Check its Cloud Scheduler job (paused? failing with 403?), then the service's logs
      (an ERROR names the cause). This incident closes when ticks resume.
    EOT
  }

  depends_on = [google_project_service.host]
}
