/**
 * Budget Guard: a Cloud Billing budget notifies a Pub/Sub topic; a gen2 Cloud Function judges each
 * notification against one policy and brakes Gemini API spend on the guarded projects.
 *
 * Files: main.tf (policy, APIs, budgets), pubsub.tf, function.tf, iam.tf, ledger.tf,
 * monitoring.tf, keys.tf (leaked-key events). Thresholds are written once (var.rules) and rendered by modules/policy into both
 * the budgets' threshold rules and the function's BUDGET_GUARD_POLICY.
 */

data "google_project" "host" {
  project_id = var.project_id
}

# Budget filters want project numbers ("projects/123"); the API rewrites IDs to numbers, which
# would show as a diff on every plan.
data "google_project" "budget" {
  for_each   = local.budget_projects
  project_id = each.key
}

locals {
  # Projects the budgets cover, and the ones the guard may act on (and so gets IAM on).
  budget_projects  = toset(flatten([for b in var.budgets : b.projects]))
  guarded_projects = setsubtract(local.budget_projects, var.protected_projects)

  actions_used = toset(module.policy.actions_used)
  uses_keys    = length(setintersection(local.actions_used, toset(["rotate_keys", "revoke_keys", "revoke_offending_keys", "revoke_leaked_key"]))) > 0

  key_secret_project = var.key_secret == null ? null : coalesce(try(var.key_secret.project, null), var.project_id)
  key_secret_name    = var.key_secret == null ? null : "projects/${local.key_secret_project}/secrets/${var.key_secret.secret_id}"
  # The secret ids the rotations write to: one per guarded project when secret_id holds
  # {project} (the policy's placeholder), else the one secret.
  key_secret_ids = var.key_secret == null ? toset([]) : toset(
    strcontains(var.key_secret.secret_id, "{project}")
    ? [for p in local.guarded_projects : replace(var.key_secret.secret_id, "{project}", p)]
    : [var.key_secret.secret_id]
  )

  # Every API the guard and its deployment use on the host project. The function's Google
  # clients bill their calls to the host project (its service account's project), so the APIs
  # it calls on guarded projects are enabled here too.
  host_services = toset(concat(
    [
      "artifactregistry.googleapis.com",     # function images (gcf-artifacts)
      "billingbudgets.googleapis.com",       # the budgets (quota project of the deployer)
      "cloudbilling.googleapis.com",         # disable_billing, billing info reads
      "cloudbuild.googleapis.com",           # function builds
      "cloudfunctions.googleapis.com",       # the function
      "cloudresourcemanager.googleapis.com", # project lookups, IAM on projects
      "eventarc.googleapis.com",             # the trigger
      "firestore.googleapis.com",            # the ledger
      "iam.googleapis.com",                  # service accounts, custom roles
      "logging.googleapis.com",              # the function's logs, log-based alert
      "monitoring.googleapis.com",           # alert policies
      "pubsub.googleapis.com",               # alerts, events, dead-letter topics
      "run.googleapis.com",                  # gen2 functions run on Cloud Run
      "serviceusage.googleapis.com",         # disable_service, this list
      "storage.googleapis.com",              # source bucket
    ],
    local.uses_keys ? ["apikeys.googleapis.com"] : [],
    local.key_secret_name != null ? ["secretmanager.googleapis.com"] : [],
    contains(local.actions_used, "throttle") || length(local.quota_preferences) > 0 ? ["cloudquotas.googleapis.com"] : [],
  ))

  # Guarded projects hold the API keys the key actions list, rotate and delete.
  guarded_services = local.uses_keys ? toset(["apikeys.googleapis.com"]) : toset([])
  guarded_project_services = {
    for pair in setproduct(local.guarded_projects, local.guarded_services) : "${pair[0]}/${pair[1]}" => {
      project = pair[0]
      service = pair[1]
    }
  }

  budget_ids = { for k, b in google_billing_budget.this : k => element(split("/", b.name), 3) }
}

module "policy" {
  source = "./modules/policy"

  billing_account = var.billing_account
  budgets = {
    for k, b in var.budgets : local.budget_ids[k] => {
      projects        = b.projects
      currency        = b.currency_code
      calendar_period = b.calendar_period
      amount          = b.amount
    }
  }
  rules                   = var.rules
  protected_projects      = var.protected_projects
  dry_run                 = var.dry_run
  ledger_project          = var.project_id
  ledger_database         = google_firestore_database.ledger.name
  events_topic            = google_pubsub_topic.events.id
  source_topic            = google_pubsub_topic.alerts.id
  key_match_display_names = var.key_match_display_names
  key_secret              = local.key_secret_name
  services                = var.services_to_disable
  extra_actions           = local.leaked_key_actions
  throttle                = var.throttle
  ceiling                 = var.quota_ceiling
  watchdog                = local.watchdog_policy
}

resource "google_project_service" "host" {
  for_each = var.enable_apis ? local.host_services : toset([])

  project = var.project_id
  service = each.key

  # The host project may run other things: never switch an API off on destroy.
  disable_on_destroy         = false
  disable_dependent_services = false
}

resource "google_project_service" "guarded" {
  for_each = var.enable_apis ? local.guarded_project_services : {}

  project = each.value.project
  service = each.value.service

  # Not ours to turn off: the guarded project's own workloads may depend on it.
  disable_on_destroy         = false
  disable_dependent_services = false
}

# --- the budgets ------------------------------------------------------------------------------

resource "google_billing_budget" "this" {
  for_each = var.budgets

  billing_account = var.billing_account
  display_name    = coalesce(each.value.display_name, "${var.name} ${each.key}")

  budget_filter {
    projects        = [for p in each.value.projects : "projects/${data.google_project.budget[p].number}"]
    calendar_period = each.value.calendar_period
    # EXCLUDE_ALL_CREDITS by default: costAmount is gross spend, see README "Credits".
    credit_types_treatment = each.value.credit_types_treatment
    credit_types           = each.value.credit_types_treatment == "INCLUDE_SPECIFIED_CREDITS" ? each.value.credit_types : null
    services               = length(each.value.services) > 0 ? each.value.services : null
  }

  amount {
    specified_amount {
      currency_code = each.value.currency_code
      units         = tostring(floor(each.value.amount))
      # Rounded to cents.
      nanos = min(floor((each.value.amount - floor(each.value.amount)) * 100 + 0.5), 99) * 10000000
    }
  }

  # One rule per distinct (threshold, basis) pair of var.rules.
  dynamic "threshold_rules" {
    for_each = module.policy.threshold_rules
    content {
      threshold_percent = threshold_rules.value.threshold_percent
      spend_basis       = threshold_rules.value.spend_basis
    }
  }

  all_updates_rule {
    pubsub_topic   = google_pubsub_topic.alerts.id
    schema_version = "1.0"

    monitoring_notification_channels = var.budget_notification_channels
    # A budget with a topic but no channels fails with HTTP 400 unless default IAM recipients
    # stay enabled (terraform-provider-google #12613, #24637).
    disable_default_iam_recipients = length(var.budget_notification_channels) > 0 ? var.disable_default_iam_recipients : false
  }

  depends_on = [
    # Attaching a topic needs pubsub.topics.setIamPolicy and the billing publisher in place.
    google_pubsub_topic_iam_binding.alerts_publisher,
    google_project_service.host,
  ]
}
