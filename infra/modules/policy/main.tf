/**
 * Budget Guard policy: the one place where the rule list becomes
 *   - the policy JSON the function validates (BUDGET_GUARD_POLICY),
 *   - the budget's threshold rules,
 *   - the IAM permissions the guard needs on each guarded project.
 *
 * Variables, locals and outputs only (no provider), so `terraform apply` evaluates it offline.
 */

locals {
  # IAM permissions each action needs on a guarded project: the Terraform copy of the class
  # attribute `permissions` of functions.actions.REGISTRY (tests/infra fails if they differ).
  # Resource-scoped grants are made in the root module instead: notify publishes to the events
  # topic (roles/pubsub.publisher on that topic), rotate_keys adds versions to the key secret
  # (roles/secretmanager.secretVersionAdder on that secret). Every brake that may run without the
  # ledger reads the restore marker first (resourcemanager.projects.get, functions/restored.py).
  permissions_by_action = {
    notify = []
    disable_billing = [
      "resourcemanager.projects.deleteBillingAssignment",
      "resourcemanager.projects.get",
    ]
    rotate_keys = [
      "apikeys.keys.create",
      "apikeys.keys.delete",
      "apikeys.keys.get",
      "apikeys.keys.getKeyString",
      "apikeys.keys.list",
      "resourcemanager.projects.get",
      "serviceusage.operations.get",
    ]
    revoke_keys = [
      "apikeys.keys.delete",
      "apikeys.keys.list",
      "resourcemanager.projects.get",
      "serviceusage.operations.get",
    ]
    disable_service = [
      "resourcemanager.projects.get",
      "serviceusage.operations.get",
      "serviceusage.services.disable",
      "serviceusage.services.get",
    ]
    revoke_offending_keys = [
      "apikeys.keys.delete",
      "apikeys.keys.get",
      "apikeys.keys.list",
      "serviceusage.operations.get",
    ]
    revoke_leaked_key = [
      "apikeys.keys.delete",
      "apikeys.keys.get",
      "apikeys.keys.getKeyString",
      "apikeys.keys.list",
      "serviceusage.operations.get",
    ]
    throttle = [
      "cloudquotas.quotas.get",
      "cloudquotas.quotas.update",
      "resourcemanager.projects.get",
    ]
  }

  # The actions the rules use, plus those the guard runs outside them (var.extra_actions).
  actions_used = sort(distinct(concat(flatten([for r in var.rules : r.actions]), var.extra_actions)))

  # Exactly the union for the actions the rules use.
  custom_role_permissions = sort(distinct(flatten([for a in local.actions_used : local.permissions_by_action[a]])))

  # Cloud Billing budget threshold rules: one per distinct (threshold, basis) pair; the API
  # rejects duplicates and several rules may share a threshold.
  spend_basis = {
    actual   = "CURRENT_SPEND"
    forecast = "FORECASTED_SPEND"
  }
  # The watchdog's bases (estimate, rate, baseline) are not the budget's: no threshold rule.
  threshold_rules = distinct([
    for r in var.rules : {
      threshold_percent = r.threshold
      spend_basis       = local.spend_basis[r.basis]
    } if contains(keys(local.spend_basis), r.basis)
  ])

  # Optional keys are left out rather than rendered as null: the function's defaults apply.
  key_actions = setintersection(toset(local.actions_used), toset(["rotate_keys", "revoke_keys"]))
  keys = merge(
    { match = "gemini" },
    { for k, v in { match = var.key_match_display_names } : k => v if length(v) > 0 },
    { for k, v in { secret = var.key_secret } : k => v if v != null },
  )

  # The watchdog section; optional keys left out when null (the function's defaults apply).
  watchdog = var.watchdog == null ? null : merge(
    {
      interval_minutes    = var.watchdog.interval_minutes
      reconcile_tolerance = var.watchdog.reconcile_tolerance
    },
    {
      for k, v in {
        scope_project      = var.watchdog.scope_project
        unknown_model_rate = var.watchdog.unknown_model_rate
      } : k => v if v != null
    },
  )

  policy = merge(
    {
      billing_account = var.billing_account
      budgets = {
        for id, b in var.budgets : id => merge(
          { projects = b.projects },
          { for k, v in { currency = b.currency, calendar_period = b.calendar_period, amount = b.amount } : k => v if v != null },
        )
      }
      rules = [
        for r in var.rules : merge(
          { name = r.name, basis = r.basis, actions = r.actions },
          {
            for k, v in {
              threshold      = r.threshold
              window_minutes = r.window_minutes
              amount         = r.amount
              multiple       = r.multiple
            } : k => v if v != null
          },
        )
      ]
      protected_projects = var.protected_projects
      dry_run            = var.dry_run
      ledger = {
        project  = var.ledger_project
        database = var.ledger_database
      }
      services = var.services
    },
    { for k, v in { throttle = var.throttle, ceiling = var.ceiling } : k => v if v != null },
    { for k, v in { events_topic = var.events_topic, source_topic = var.source_topic } : k => v if v != null },
    { for k, v in { watchdog = local.watchdog } : k => v if v != null },
    { for k, v in { keys = local.keys } : k => v if length(local.key_actions) > 0 || var.key_secret != null || length(var.key_match_display_names) > 0 },
  )
}
