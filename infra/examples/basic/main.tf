# The Budget API needs a quota project when called with user credentials (gcloud auth
# application-default login): user_project_override + billing_project send it, and the host
# project has billingbudgets.googleapis.com enabled by the module. See infra/README.md.
provider "google" {
  project               = var.project_id
  region                = "us-central1"
  user_project_override = true
  billing_project       = var.project_id
}

resource "google_monitoring_notification_channel" "email" {
  project      = var.project_id
  display_name = "Budget Guard alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
}

module "budget_guard" {
  source = "../.."

  project_id      = var.project_id
  region          = "us-central1"
  billing_account = var.billing_account

  budgets = {
    gemini = {
      display_name  = "Gemini API (${var.guarded_project})"
      projects      = [var.guarded_project]
      amount        = var.monthly_budget
      currency_code = var.currency_code
    }
  }

  # Written once: these become the budget's threshold rules and the function's policy.
  rules = [
    { name = "warn", threshold = 0.5, basis = "actual", actions = ["notify"] },
    { name = "forecast", threshold = 1.0, basis = "forecast", actions = ["notify"] },
    { name = "rotate", threshold = 0.9, basis = "actual", actions = ["notify", "rotate_keys"] },
    { name = "stop", threshold = 1.0, basis = "actual", actions = ["notify", "disable_service", "disable_billing"] },
  ]

  dry_run = var.dry_run

  key_secret = {
    secret_id = "gemini-api-key-{project}" # one secret per guarded project
  }

  notification_channels = [google_monitoring_notification_channel.email.id]

  labels = {
    app = "budget-guard"
  }
}
