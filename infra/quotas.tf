# Quota brakes set by Terraform: the model lock and the spend ceiling, as Cloud Quotas
# preferences on the guarded projects (the throttle action sets its own at run time).
#
# Each (project, quota id, model) row becomes one google_cloud_quotas_quota_preference. Its id
# is the one `budget-guard lock-models` / `budget-guard ceiling --apply` derive
# ("bg-" + 24 hex of sha256("lock|QUOTA_ID|MODEL") or "ceiling|..."), so the CLI and Terraform
# manage the same preference. Destroying a row leaves the quota as set (the provider cannot
# delete preferences): set the value back before removing it. The deployer needs
# cloudquotas.quotas.update on each guarded project (roles/cloudquotas.admin).

variable "throttle" {
  description = "What the throttle action lowers: quotas = [{ family = requests_per_minute | requests_per_day | input_tokens_per_minute, value = whole number >= 0, models = [\"*\"] or model ids }], tier = auto | free | tier1 | tier2 | tier3. Required when a rule uses throttle. Validated in modules/policy."
  type = object({
    tier = optional(string, "auto")
    quotas = list(object({
      family = string
      value  = number
      models = optional(list(string), ["*"])
    }))
  })
  default = null
}

variable "quota_ceiling" {
  description = "The daily ceiling (amount as a string, e.g. \"50\") the quota_values rows were computed for by `budget-guard ceiling`; `budget-guard check` reports whether the project's quotas still hold it. models: the models it covers (empty: every model with a ceiling quota). null: none."
  type = object({
    daily  = string
    models = optional(list(string), [])
  })
  default = null
}

variable "model_lock" {
  description = "Preventive lock: guarded project ID => { allowed = models the project uses, tier = its usage tier (free, tier1, tier2, tier3) }. Every other model of gemini_models gets 0 for requests per minute, requests per day and input tokens per minute. Empty (default): no lock."
  type = map(object({
    allowed = list(string)
    tier    = optional(string, "tier1")
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for p, l in var.model_lock : contains(["free", "tier1", "tier2", "tier3"], l.tier) && length(l.allowed) > 0])
    error_message = "model_lock: each project needs at least one allowed model and a tier of free, tier1, tier2 or tier3."
  }
}

variable "gemini_models" {
  description = "The Gemini models the model lock zeroes unless allowed. Terraform cannot list a project's models at plan time without a data source (google_cloud_quotas_quota_infos reads them, with the deployer's credentials, at every plan); this list is the dated default: the price table's models and the media/TTS models attackers use. `budget-guard lock-models --dry-run` shows what the live quota infos list."
  type        = list(string)
  default = [
    "gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-flash-image", "gemini-2.5-flash-lite",
    "gemini-2.5-flash-preview-tts", "gemini-2.5-pro", "gemini-2.5-pro-preview-tts",
    "gemini-3-flash", "gemini-3-flash-preview", "gemini-3-pro-image-preview",
    "gemini-3.1-flash-lite", "gemini-3.1-pro-preview", "gemini-3.5-flash", "gemini-3.5-flash-lite",
    "gemini-3.6-flash", "gemini-3.7-flash", "gemini-3.8-flash",
  ]
  nullable = false
}

variable "quota_values" {
  description = "Explicit Gemini quota values, e.g. the spend ceiling: the `quota_preferences` map `budget-guard ceiling --json` prints, key => { project, quota_id, model, value }."
  type = map(object({
    project  = string
    quota_id = string
    model    = string
    value    = number
  }))
  default  = {}
  nullable = false
}

locals {
  gemini_service = "generativelanguage.googleapis.com"

  # Quota id of each family per tier (functions/quotas/ids.py; USAGE.md section 5).
  quota_ids_by_tier = {
    free  = ["GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "GenerateContentInputTokensPerModelPerMinute-FreeTier"]
    tier1 = ["GenerateRequestsPerMinutePerProjectPerModel", "GenerateRequestsPerDayPerProjectPerModel", "GenerateContentPaidTierInputTokensPerModelPerMinute"]
    tier2 = ["GenerateRequestsPerMinutePerProjectPerModel-PaidTier2", "GenerateRequestsPerDayPerProjectPerModel-PaidTier2", "GenerateContentPaidTierInputTokensPerModelPerMinute-PaidTier2"]
    tier3 = ["GenerateRequestsPerMinutePerProjectPerModel-PaidTier3", "GenerateRequestsPerDayPerProjectPerModel-PaidTier3", "GenerateContentPaidTierInputTokensPerModelPerMinute-PaidTier3"]
  }

  model_lock_rows = merge([
    for project, lock in var.model_lock : {
      for pair in setproduct(local.quota_ids_by_tier[lock.tier], setsubtract(var.gemini_models, lock.allowed)) :
      "${project}/${pair[0]}/${pair[1]}" => {
        project  = project
        quota_id = pair[0]
        model    = pair[1]
        value    = 0
        purpose  = "lock"
      }
    }
  ]...)

  quota_preferences = merge(
    local.model_lock_rows,
    { for k, v in var.quota_values : k => merge(v, { purpose = "ceiling" }) },
  )
}

resource "google_cloud_quotas_quota_preference" "this" {
  for_each = local.quota_preferences

  parent        = "projects/${each.value.project}"
  name          = "bg-${substr(sha256("${each.value.purpose}|${each.value.quota_id}|${each.value.model}"), 0, 24)}"
  service       = local.gemini_service
  quota_id      = each.value.quota_id
  dimensions    = { model = each.value.model }
  justification = each.value.purpose == "lock" ? "Budget Guard model lock: ${each.value.model} is not used by this project." : "Budget Guard spend ceiling."

  quota_config {
    preferred_value = tostring(each.value.value)
  }

  # One check only in the 6.50 schema (both at once await magic-modules PR 18685). Locked models
  # are unused, so a cut to 0 is not below usage; it is always a cut of more than 10 %.
  ignore_safety_checks = "QUOTA_DECREASE_PERCENTAGE_TOO_HIGH"
}
