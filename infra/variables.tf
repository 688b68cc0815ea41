# --- where the guard runs -------------------------------------------------------------------------

variable "project_id" {
  description = "Host project ID (6-30 characters) that runs the guard: function, topics, ledger database, secret, source bucket and alert policy live here. Keep it separate from the guarded projects, so that disabling their billing never stops the guard."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID: 6-30 lower-case letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "region" {
  description = "Region (e.g. \"us-central1\") of the function, its Eventarc trigger and the source bucket."
  type        = string
  default     = "us-central1"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Cloud region name such as us-central1 or europe-west1."
  }
}

variable "name" {
  description = "Base name (3-20 characters: lower-case letters, digits, hyphens) of the function and prefix of its topics, service accounts and bucket, e.g. \"budget-guard\" gives topics budget-guard-alerts, budget-guard-events and budget-guard-dead-letter."
  type        = string
  default     = "budget-guard"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 lower-case letters, digits or hyphens, start with a letter and not end with a hyphen (service account IDs built from it are limited to 30 characters)."
  }
}

variable "labels" {
  description = "Labels (map of key to value; lower-case keys and values of at most 63 characters) added to every labelled resource."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k, v in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "labels keys must start with a lower-case letter; keys and values use lower-case letters, digits, '_' and '-' and are at most 63 characters."
  }
}

variable "enable_apis" {
  description = "true: enable every API the guard uses (on the host project; API Keys also on guarded projects when key actions are used). false: they are enabled already (e.g. by a project factory)."
  type        = bool
  default     = true
  nullable    = false
}

# --- the budgets and the rules (written once) -----------------------------------------------------

variable "billing_account" {
  description = "Cloud Billing account ID that owns the budgets, e.g. \"01D4EE-079462-DFD6EC\" (no \"billingAccounts/\" prefix). The deployer needs roles/billing.costsManager (budgets) on it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", var.billing_account))
    error_message = "billing_account must look like 01D4EE-079462-DFD6EC (three groups of six upper-case hex digits), without the \"billingAccounts/\" prefix."
  }
}

variable "budgets" {
  description = <<-EOT
    Budgets to create, keyed by a short name (lower-case, 1-30 characters; used in display names). Each budget notifies the guard, whose rules then act on that budget's projects.
      projects               : project IDs the budget covers and the guard acts on (minus protected_projects).
      amount                 : budget amount per period, in units of the currency (e.g. 100 = 100 USD), rounded to cents.
      currency_code          : ISO 4217 code; must be the billing account's currency. null: the account's currency, and the function does not check it.
      display_name           : at most 60 characters. null: "<name> <key>".
      calendar_period        : MONTH, QUARTER or YEAR (default MONTH). Thresholds re-arm every period.
      credit_types_treatment : EXCLUDE_ALL_CREDITS (default: gross cost, see README), INCLUDE_ALL_CREDITS or INCLUDE_SPECIFIED_CREDITS.
      credit_types           : credit types netted out with INCLUDE_SPECIFIED_CREDITS (e.g. "PROMOTION"); otherwise empty.
      services               : Cloud Billing service IDs as "services/XXXX-XXXX-XXXX" to count only those services' cost. Empty (default): all services.
  EOT
  type = map(object({
    projects               = list(string)
    amount                 = number
    currency_code          = optional(string)
    display_name           = optional(string)
    calendar_period        = optional(string, "MONTH")
    credit_types_treatment = optional(string, "EXCLUDE_ALL_CREDITS")
    credit_types           = optional(list(string), [])
    services               = optional(list(string), [])
  }))
  nullable = false

  validation {
    condition     = length(var.budgets) > 0
    error_message = "budgets must hold at least one budget."
  }
  validation {
    condition     = alltrue([for k, b in var.budgets : can(regex("^[a-z][a-z0-9-]{0,29}$", k))])
    error_message = "budgets keys must be 1-30 lower-case letters, digits or hyphens, starting with a letter."
  }
  validation {
    condition     = alltrue([for b in var.budgets : length(b.projects) > 0 && length(distinct(b.projects)) == length(b.projects)])
    error_message = "Every budget must name at least one project, each project once."
  }
  validation {
    condition     = alltrue(flatten([for b in var.budgets : [for p in b.projects : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", p))]]))
    error_message = "Budget projects must be project IDs (6-30 lower-case letters, digits or hyphens, starting with a letter), not project numbers."
  }
  validation {
    condition     = alltrue([for b in var.budgets : b.amount > 0])
    error_message = "Every budget amount must be > 0 (currency units per period, e.g. 100 = 100 USD)."
  }
  validation {
    condition     = alltrue([for b in var.budgets : b.currency_code == null || can(regex("^[A-Z]{3}$", b.currency_code))])
    error_message = "currency_code must be an ISO 4217 code of three upper-case letters (e.g. \"USD\") or null."
  }
  validation {
    condition     = alltrue([for b in var.budgets : b.display_name == null || (length(coalesce(b.display_name, "-")) >= 1 && length(coalesce(b.display_name, "-")) <= 60)])
    error_message = "A budget display_name must be 1-60 characters (the Budget API limit)."
  }
  validation {
    condition     = alltrue([for b in var.budgets : contains(["MONTH", "QUARTER", "YEAR"], b.calendar_period)])
    error_message = "calendar_period must be MONTH, QUARTER or YEAR."
  }
  validation {
    condition     = alltrue([for b in var.budgets : contains(["EXCLUDE_ALL_CREDITS", "INCLUDE_ALL_CREDITS", "INCLUDE_SPECIFIED_CREDITS"], b.credit_types_treatment)])
    error_message = "credit_types_treatment must be EXCLUDE_ALL_CREDITS, INCLUDE_ALL_CREDITS or INCLUDE_SPECIFIED_CREDITS."
  }
  validation {
    condition     = alltrue([for b in var.budgets : (b.credit_types_treatment == "INCLUDE_SPECIFIED_CREDITS") == (length(b.credit_types) > 0)])
    error_message = "credit_types must be set exactly when credit_types_treatment is INCLUDE_SPECIFIED_CREDITS."
  }
  validation {
    condition     = alltrue(flatten([for b in var.budgets : [for s in b.services : can(regex("^services/[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$", s))]]))
    error_message = "Budget services must be Cloud Billing service IDs such as services/6F81-5844-456A (from the Cloud Billing catalog), not API names."
  }
}

variable "rules" {
  description = "Rules, written once: the budgets' threshold rules and the function's policy are both generated from them. name: unique, [a-z][a-z0-9_-]{0,39}. threshold: fraction of the budget amount (unitless; 0.5 = 50 %, 1.0 = 100 %, may exceed 1, at most 100). basis: \"actual\" (cost so far, CURRENT_SPEND) or \"forecast\" (forecast for the period, FORECASTED_SPEND); default actual; or the usage watchdog's \"estimate\" (threshold of the budget amount), \"rate\" (window_minutes, amount: a project's estimated spend in the window) or \"baseline\" (window_minutes, amount, multiple of the trailing 7-day average), which make no budget threshold rule. actions: from notify, rotate_keys, revoke_keys, disable_service, disable_billing, throttle, run in order. Validated in modules/policy."
  type = list(object({
    name           = string
    threshold      = optional(number)
    basis          = optional(string, "actual")
    window_minutes = optional(number)
    amount         = optional(number)
    multiple       = optional(number)
    actions        = list(string)
  }))
  nullable = false
}

variable "dry_run" {
  description = "true: the guard records and logs the actions it would run and runs none (deploy this way first and send a test notification, see README). false: it acts. No default: choose."
  type        = bool
  nullable    = false
}

variable "protected_projects" {
  description = "Project IDs (listed in budgets) the guard never acts on; they also get no IAM grant. Empty: none."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "services_to_disable" {
  description = "Service names the disable_service action turns off on a guarded project (e.g. \"generativelanguage.googleapis.com\", the Gemini API)."
  type        = list(string)
  default     = ["generativelanguage.googleapis.com"]
  nullable    = false
}

variable "key_match_display_names" {
  description = "API keys the rotate_keys and revoke_keys actions select, by display name. Empty (default): every key that can call the Gemini API (\"gemini\")."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "key_secret" {
  description = "Secret Manager secret that receives rotated key strings. null (default): none. secret_id: 1-255 letters, digits, '_' or '-', and may hold {project}: one secret per guarded project (e.g. \"gemini-api-key-{project}\"), required when rotate_keys runs on more than one project, since each rotation's version holds only its own project's keys. project: project ID holding the secret (null: project_id). create: true creates the secret in that project (automatic replication); false uses an existing one. The guard gets roles/secretmanager.secretVersionAdder on these secrets only, when a rule uses rotate_keys."
  type = object({
    secret_id = string
    project   = optional(string)
    create    = optional(bool, true)
  })
  default = null

  validation {
    condition     = var.key_secret == null || can(regex("^[A-Za-z0-9_-]{1,255}$", replace(try(var.key_secret.secret_id, ""), "{project}", "pppppppppppppppppppppppppppppp")))
    error_message = "key_secret.secret_id must be 1-255 letters, digits, '_' or '-' (with {project} replaced by a project ID)."
  }
  validation {
    condition     = var.key_secret == null || try(var.key_secret.project, null) == null || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", try(var.key_secret.project, "")))
    error_message = "key_secret.project must be a project ID or null."
  }
}

# --- the function ---------------------------------------------------------------------------------

variable "source_dir" {
  description = "Directory holding main.py, requirements.txt and functions/ (the repository root). null: the directory above this module. Only main.py, requirements.txt and functions/ are zipped (see modules/source)."
  type        = string
  default     = null
}

variable "source_bucket_name" {
  description = "Globally unique name of the bucket (created here) holding the function's source zips. null: \"<project_id>-<name>-source\"."
  type        = string
  default     = null

  validation {
    condition     = var.source_bucket_name == null || can(regex("^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$", coalesce(var.source_bucket_name, "x")))
    error_message = "source_bucket_name must be 3-63 lower-case letters, digits, '-', '_' or '.', starting and ending with a letter or digit."
  }
}

variable "function_memory" {
  description = "Memory of the function's instance, in Cloud Run units, e.g. \"512Mi\" (MiB) or \"1Gi\" (GiB)."
  type        = string
  default     = "512Mi"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.function_memory))
    error_message = "function_memory must be a number followed by Mi or Gi, e.g. \"512Mi\"."
  }
}

variable "function_timeout_seconds" {
  description = "Seconds one notification may take before the request fails and Pub/Sub redelivers it (1-300: at most the ledger's 300 s lease, functions/ledger/base.py LEASE_SECONDS, so no other delivery resumes a crossing that is still being acted on)."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.function_timeout_seconds >= 1 && var.function_timeout_seconds <= 300 && floor(var.function_timeout_seconds) == var.function_timeout_seconds
    error_message = "function_timeout_seconds must be a whole number of seconds from 1 to 300 (the ledger's lease on a crossing lasts 300 s)."
  }
}

variable "build_service_account" {
  description = "Email of the service account Cloud Build uses to build the function (it needs roles/cloudbuild.builds.builder or equivalent). null: the project's default build service account."
  type        = string
  default     = null

  validation {
    condition     = var.build_service_account == null || can(regex("^[a-z0-9-]+@[a-z0-9.-]+\\.iam\\.gserviceaccount\\.com$", coalesce(var.build_service_account, "x")))
    error_message = "build_service_account must be a service account email ending in .iam.gserviceaccount.com, or null."
  }
}

# --- delivery, dead letters --------------------------------------------------------------------

variable "dead_letter_max_delivery_attempts" {
  description = "Deliveries (5-100) of one notification to the function before Pub/Sub moves it to the dead-letter topic. Retries back off from 10 s to 600 s, so 20 attempts span about 2-3 hours."
  type        = number
  default     = 20
  nullable    = false

  validation {
    condition     = var.dead_letter_max_delivery_attempts >= 5 && var.dead_letter_max_delivery_attempts <= 100 && floor(var.dead_letter_max_delivery_attempts) == var.dead_letter_max_delivery_attempts
    error_message = "dead_letter_max_delivery_attempts must be a whole number from 5 to 100 (the Pub/Sub limits)."
  }
}

variable "attach_dead_letter_policy" {
  description = "true: after the function is deployed, run gcloud (on the machine running terraform, authenticated) to attach the dead-letter topic to the Pub/Sub subscription Eventarc made for the trigger, which the provider cannot configure. false: skip it (undeliverable notifications are dropped after 24 hours); see README for the command."
  type        = bool
  default     = true
  nullable    = false
}

# --- the ledger -----------------------------------------------------------------------------------

variable "ledger_database" {
  description = "Firestore database ID (created here, native mode) of the once-per-crossing ledger and audit trail: 4-63 lower-case letters, digits or hyphens, starting with a letter."
  type        = string
  default     = "budget-guard"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.ledger_database))
    error_message = "ledger_database must be 4-63 lower-case letters, digits or hyphens, start with a letter and not end with a hyphen."
  }
}

variable "ledger_location" {
  description = "Firestore location ID of the ledger: a region (e.g. \"us-central1\") or a multi-region (\"nam5\", \"eur3\"). null: region."
  type        = string
  default     = null
}

variable "ledger_deletion_protection" {
  description = "true: the ledger (the audit trail) cannot be deleted, and terraform destroy leaves it in place (deletion_policy ABANDON). Set false and apply before a full teardown."
  type        = bool
  default     = true
  nullable    = false
}

variable "ledger_point_in_time_recovery" {
  description = "true: keep 7 days of point-in-time recovery for the ledger (small extra storage cost)."
  type        = bool
  default     = true
  nullable    = false
}

# --- alerting -------------------------------------------------------------------------------------

variable "notification_channels" {
  description = "Cloud Monitoring notification channels (e-mail, Slack, PagerDuty...: see README) for every alert of the guard: a threshold crossing, it failed to act (ERROR log), a notification was dead-lettered, a heartbeat went silent. Full names projects/PROJECT/notificationChannels/ID of existing channels. Empty: incidents are only visible in the console."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "notification_channels must be full channel names: projects/PROJECT_ID/notificationChannels/NUMBER."
  }
}

variable "alert_notification_rate_limit_seconds" {
  description = "Least time, in seconds (at least 300), between two notifications of the ERROR-log alert while it keeps matching."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.alert_notification_rate_limit_seconds >= 300 && floor(var.alert_notification_rate_limit_seconds) == var.alert_notification_rate_limit_seconds
    error_message = "alert_notification_rate_limit_seconds must be a whole number of seconds, at least 300 (the minimum for log-based alerts)."
  }
}

variable "alert_auto_close_seconds" {
  description = "Seconds after the last matching ERROR log after which the alert's incident closes on its own (1800 = 30 minutes; at least 1800)."
  type        = number
  default     = 86400
  nullable    = false

  validation {
    condition     = var.alert_auto_close_seconds >= 1800 && floor(var.alert_auto_close_seconds) == var.alert_auto_close_seconds
    error_message = "alert_auto_close_seconds must be a whole number of seconds, at least 1800."
  }
}

variable "budget_notification_channels" {
  description = "Up to 5 Cloud Monitoring notification channels (projects/PROJECT/notificationChannels/ID) the budgets email at each threshold, besides the guard's topic."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.budget_notification_channels) <= 5 && alltrue([for c in var.budget_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", c))])
    error_message = "budget_notification_channels takes at most 5 full channel names: projects/PROJECT_ID/notificationChannels/NUMBER."
  }
}

variable "disable_default_iam_recipients" {
  description = "true: the budgets stop emailing billing admins and users. Only honoured when budget_notification_channels is non-empty: a budget with a Pub/Sub topic, no channels and default recipients disabled is refused by the API with HTTP 400."
  type        = bool
  default     = false
  nullable    = false
}

# --- IAM ------------------------------------------------------------------------------------------

variable "custom_role_id" {
  description = "ID of the custom role created in each guarded project with exactly the permissions of the actions the rules use (3-64 letters, digits, '_' or '.'). A deleted custom role can be undeleted for 7 days (the provider does so when the same ID is created again) and its ID stays reserved for 37 days."
  type        = string
  default     = "budgetGuardActions"
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.]{3,64}$", var.custom_role_id))
    error_message = "custom_role_id must be 3-64 letters, digits, '_' or '.'."
  }
}

# --- leaked-key events (keys.tf) -------------------------------------------------------------------

variable "leaked_key_events" {
  description = "true (default): a log sink on each guarded project routes Google's LEAKED_CREDENTIALS abuse events to a topic, and a second function (entry point leaked_key, service NAME-leaked-key) revokes exactly the key each event names, once. false: none of it."
  type        = bool
  default     = true
  nullable    = false
}

variable "key_service_accounts" {
  description = "Service accounts (emails, ACCOUNT@PROJECT.iam.gserviceaccount.com) that API keys rotate_keys replaces are bound to. The guard gets roles/iam.serviceAccountUser (iam.serviceAccounts.actAs) on each of these accounts only, which Google requires to bind a replacement key to them. Empty: keys bound to a service account cannot be rotated (the create is refused with 403; `budget-guard check` says so)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for e in var.key_service_accounts : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\\.iam\\.gserviceaccount\\.com$", e))])
    error_message = "key_service_accounts must be user-managed service account emails: ACCOUNT@PROJECT.iam.gserviceaccount.com."
  }
}

# --- heartbeat (infra/alerts.tf) -----------------------------------------------------------------

variable "heartbeat_budget_hours" {
  description = "Hours (whole, 1-23) without a single budget notification handled by the guard after which the heartbeat alert opens an incident: budgets notify several times a day, so silence means a broken topic, trigger or function. At most 23: Cloud Monitoring's metric-absence window is at most 23.5 hours."
  type        = number
  default     = 12
  nullable    = false

  validation {
    condition     = var.heartbeat_budget_hours >= 1 && var.heartbeat_budget_hours <= 23 && floor(var.heartbeat_budget_hours) == var.heartbeat_budget_hours
    error_message = "heartbeat_budget_hours must be a whole number of hours from 1 to 23 (a metric-absence window is at most 23.5 hours)."
  }
}

variable "heartbeat_watchdog_missed_ticks" {
  description = "Watchdog ticks (whole, at least 1) that may be missed in a row before the heartbeat alert opens an incident; the window is this times watchdog_interval_minutes and must be 2 minutes to 23.5 hours (Cloud Monitoring's metric-absence limits)."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.heartbeat_watchdog_missed_ticks >= 1 && floor(var.heartbeat_watchdog_missed_ticks) == var.heartbeat_watchdog_missed_ticks
    error_message = "heartbeat_watchdog_missed_ticks must be a whole number, at least 1."
  }
  validation {
    condition     = var.heartbeat_watchdog_missed_ticks * var.watchdog_interval_minutes >= 2 && var.heartbeat_watchdog_missed_ticks * var.watchdog_interval_minutes <= 1410
    error_message = "heartbeat_watchdog_missed_ticks x watchdog_interval_minutes must be 2 to 1410 minutes (a metric-absence window is 120 s to 23.5 hours)."
  }
}

# --- the usage watchdog (watchdog.tf) ------------------------------------------------------------

variable "watchdog_interval_minutes" {
  description = "Minutes between two usage watchdog ticks (Cloud Scheduler): each reads the last 15 minutes of Gemini usage from Cloud Monitoring and acts on the estimate. Whole minutes from 1 to 60."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.watchdog_interval_minutes >= 1 && var.watchdog_interval_minutes <= 60 && floor(var.watchdog_interval_minutes) == var.watchdog_interval_minutes
    error_message = "watchdog_interval_minutes must be a whole number of minutes from 1 to 60."
  }
}

variable "watchdog_timeout_seconds" {
  description = "Seconds one watchdog tick may take (30-300: at most the ledger's 300 s lease). The function gets BUDGET_GUARD_DEADLINE_SECONDS 15 s below it, so it stops starting work in time to record what it did."
  type        = number
  default     = 120
  nullable    = false

  validation {
    condition     = var.watchdog_timeout_seconds >= 30 && var.watchdog_timeout_seconds <= 300 && floor(var.watchdog_timeout_seconds) == var.watchdog_timeout_seconds
    error_message = "watchdog_timeout_seconds must be a whole number of seconds from 30 to 300."
  }
}

variable "watchdog_unknown_model_rate" {
  description = "Price per 1M tokens ({input, output}, budget currency) the watchdog charges for a model missing from its price table. null (default): the most expensive known rate on each axis. Never 0."
  type = object({
    input  = number
    output = number
  })
  default = null
}

variable "watchdog_reconcile_tolerance" {
  description = "Share (0-1, 0.2 = 20 %) by which the watchdog's estimate may fall below a budget notification's cost before the guard logs an ERROR (the ERROR-log alert then pages)."
  type        = number
  default     = 0.2
  nullable    = false

  validation {
    condition     = var.watchdog_reconcile_tolerance > 0 && var.watchdog_reconcile_tolerance < 1
    error_message = "watchdog_reconcile_tolerance must be > 0 and < 1."
  }
}
