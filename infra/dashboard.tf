# One Cloud Monitoring dashboard: a row of tiles per guarded project (the watchdog's estimate
# against the budget, Gemini tokens per model, requests per API key, the guard's crossings,
# actions and errors) and a row for the guard itself (the heartbeat metrics). The tiles are built
# in modules/dashboard and described in README "Dashboard"; the log-based metrics they need are
# defined here.

module "dashboard" {
  source = "./modules/dashboard"

  name           = var.name
  period_seconds = var.watchdog_interval_minutes * 60
  projects       = { for p in local.guarded_projects : p => data.google_project.budget[p].number }
  metrics = {
    crossings              = google_logging_metric.crossings.name
    actions                = google_logging_metric.actions.name
    errors                 = google_logging_metric.errors.name
    watchdog_estimate      = google_logging_metric.watchdog_estimate.name
    watchdog_budget_amount = google_logging_metric.watchdog_budget_amount.name
    notifications_handled  = google_logging_metric.notifications_handled.name
    watchdog_ticks         = google_logging_metric.watchdog_ticks.name
  }
}

resource "google_monitoring_dashboard" "this" {
  project        = var.project_id
  dashboard_json = module.dashboard.dashboard_json

  depends_on = [google_project_service.host]
}

# --- log-based metrics of the tiles -------------------------------------------------------------

resource "google_logging_metric" "crossings" {
  project     = var.project_id
  name        = "${var.name}/crossings"
  description = "Threshold crossings the Budget Guard ${var.name} claimed (one per crossing)."
  filter      = local.crossing_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Budget Guard ${var.name}: crossings"
    labels {
      key        = "project"
      value_type = "STRING"
    }
    labels {
      key        = "rule"
      value_type = "STRING"
    }
    labels {
      key        = "budget"
      value_type = "STRING"
    }
  }
  label_extractors = {
    project = "EXTRACT(jsonPayload.project)"
    rule    = "EXTRACT(jsonPayload.rule)"
    budget  = "EXTRACT(jsonPayload.budget)"
  }

  depends_on = [google_project_service.host]
}

resource "google_logging_metric" "actions" {
  project     = var.project_id
  name        = "${var.name}/actions"
  description = "Action outcomes of the Budget Guard ${var.name}: done, noop, would_run (dry run), skipped (protected), failed, retrying."
  filter      = "${local.guard_logs} AND jsonPayload.action:* AND jsonPayload.outcome:*"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Budget Guard ${var.name}: actions"
    labels {
      key        = "project"
      value_type = "STRING"
    }
    labels {
      key        = "action"
      value_type = "STRING"
    }
    labels {
      key        = "outcome"
      value_type = "STRING"
    }
  }
  label_extractors = {
    project = "EXTRACT(jsonPayload.project)"
    action  = "EXTRACT(jsonPayload.action)"
    outcome = "EXTRACT(jsonPayload.outcome)"
  }

  depends_on = [google_project_service.host]
}

resource "google_logging_metric" "errors" {
  project     = var.project_id
  name        = "${var.name}/errors"
  description = "ERROR lines of the Budget Guard ${var.name} and its watchdog: they failed to act."
  filter      = "${local.guard_logs} AND severity>=ERROR"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Budget Guard ${var.name}: errors"
    labels {
      key        = "project"
      value_type = "STRING"
    }
    labels {
      key        = "action"
      value_type = "STRING"
    }
  }
  label_extractors = {
    project = "EXTRACT(jsonPayload.project)"
    action  = "EXTRACT(jsonPayload.action)"
  }

  depends_on = [google_project_service.host]
}

resource "google_logging_metric" "watchdog_estimate" {
  project     = var.project_id
  name        = "${var.name}/watchdog_estimate"
  description = "The usage watchdog's period-to-date spend estimate per budget and project, in the budget's currency."
  filter      = "${trimspace(local.watchdog_logs)} AND jsonPayload.message=\"watchdog estimate\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "1"
    display_name = "Budget Guard ${var.name}: watchdog estimate"
    labels {
      key        = "project"
      value_type = "STRING"
    }
    labels {
      key        = "budget"
      value_type = "STRING"
    }
    labels {
      key        = "currency"
      value_type = "STRING"
    }
  }
  value_extractor = "EXTRACT(jsonPayload.estimate)"
  label_extractors = {
    project  = "EXTRACT(jsonPayload.project)"
    budget   = "EXTRACT(jsonPayload.budget)"
    currency = "EXTRACT(jsonPayload.currency)"
  }
  # The tile plots the distribution's exact mean; buckets only matter for percentiles.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 64
      growth_factor      = 1.4
      scale              = 0.01
    }
  }

  depends_on = [google_project_service.host]
}

resource "google_logging_metric" "watchdog_budget_amount" {
  project     = var.project_id
  name        = "${var.name}/watchdog_budget_amount"
  description = "The budget amount the usage watchdog compares its estimate with, per budget and project."
  filter      = "${trimspace(local.watchdog_logs)} AND jsonPayload.message=\"watchdog estimate\" AND jsonPayload.budget_amount>=0"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "1"
    display_name = "Budget Guard ${var.name}: budget amount"
    labels {
      key        = "project"
      value_type = "STRING"
    }
    labels {
      key        = "budget"
      value_type = "STRING"
    }
    labels {
      key        = "currency"
      value_type = "STRING"
    }
  }
  value_extractor = "EXTRACT(jsonPayload.budget_amount)"
  label_extractors = {
    project  = "EXTRACT(jsonPayload.project)"
    budget   = "EXTRACT(jsonPayload.budget)"
    currency = "EXTRACT(jsonPayload.currency)"
  }
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 64
      growth_factor      = 1.4
      scale              = 0.01
    }
  }

  depends_on = [google_project_service.host]
}
