variable "billing_account" {
  description = "Cloud Billing account the budgets belong to, as its ID: three groups of six upper-case hex digits, e.g. \"01D4EE-079462-DFD6EC\". Notifications carrying any other billingAccountId are treated as spoofed."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", var.billing_account))
    error_message = "billing_account must look like 01D4EE-079462-DFD6EC (three groups of six upper-case hex digits), without the \"billingAccounts/\" prefix."
  }
}

variable "budgets" {
  description = "Budgets the guard trusts, keyed by budget ID (the UUID at the end of the budget's name billingAccounts/ACCOUNT/budgets/UUID). projects: the project IDs (not numbers) the guard acts on when that budget's rules fire. currency: optional ISO 4217 code (e.g. \"USD\"); when set, notifications in another currency are rejected."
  type = map(object({
    projects        = list(string)
    currency        = optional(string)
    calendar_period = optional(string)
    amount          = optional(number)
  }))
  nullable = false

  validation {
    condition     = length(var.budgets) > 0
    error_message = "budgets must hold at least one budget."
  }
  validation {
    condition     = alltrue([for id, b in var.budgets : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", id))])
    error_message = "Every key of budgets must be a budget ID: the lower-case UUID at the end of billingAccounts/ACCOUNT/budgets/UUID."
  }
  validation {
    condition     = alltrue([for b in var.budgets : length(b.projects) > 0 && length(distinct(b.projects)) == length(b.projects)])
    error_message = "Every budget must name at least one project, each project once."
  }
  validation {
    condition     = alltrue(flatten([for b in var.budgets : [for p in b.projects : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", p))]]))
    error_message = "Budget projects must be project IDs (6-30 characters: lower-case letters, digits, hyphens; starting with a letter), not project numbers."
  }
  validation {
    condition     = alltrue([for b in var.budgets : b.calendar_period == null || contains(["MONTH", "QUARTER", "YEAR"], coalesce(b.calendar_period, "MONTH"))])
    error_message = "A budget's calendar_period must be MONTH, QUARTER or YEAR (or null: period starts are not aged)."
  }
  validation {
    condition     = alltrue([for b in var.budgets : b.currency == null || can(regex("^[A-Z]{3}$", b.currency))])
    error_message = "A budget's currency must be an ISO 4217 code of three upper-case letters, e.g. \"USD\" or \"EUR\"."
  }
  validation {
    condition     = alltrue([for b in var.budgets : b.amount == null || try(b.amount > 0, false)])
    error_message = "A budget's amount (what the usage watchdog's estimate rules compare with) must be > 0 or null."
  }
}

variable "rules" {
  description = "Rules, written once: the budget bases become both the budget's threshold rules and the function's policy; the watchdog bases go to the policy only. name: unique, [a-z][a-z0-9_-]{0,39}. basis: \"actual\" (cost so far) or \"forecast\" (forecast cost for the period), read from budget notifications; \"estimate\" (the usage watchdog's period-to-date estimate), \"rate\" (a project's estimated spend in the last window_minutes >= amount) or \"baseline\" (that spend also >= multiple x its trailing 7-day average). threshold: fraction of the budget amount (actual, forecast, estimate; unitless, 0.5 = 50 %, at most 100). window_minutes (1-1440), amount (> 0, budget currency): rate and baseline. multiple (>= 1): baseline. actions: run in order, each at most once, from notify, rotate_keys, revoke_keys, disable_service, disable_billing, throttle."
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

  validation {
    condition     = length(var.rules) > 0
    error_message = "rules must hold at least one rule."
  }
  validation {
    condition     = alltrue([for r in var.rules : can(regex("^[a-z][a-z0-9_-]{0,39}$", r.name))])
    error_message = "Every rule name must match ^[a-z][a-z0-9_-]{0,39}$ (a lower-case letter, then up to 39 lower-case letters, digits, '_' or '-')."
  }
  validation {
    condition     = length(distinct([for r in var.rules : r.name])) == length(var.rules)
    error_message = "Rule names must be unique: the ledger records each crossing under its rule's name."
  }
  validation {
    condition     = alltrue([for r in var.rules : r.threshold == null || try(r.threshold > 0 && r.threshold <= 100, false)])
    error_message = "Every rule threshold must be > 0 and <= 100: it is a fraction of the budget (0.5 = 50 %, 1.0 = 100 %), not a percentage."
  }
  validation {
    condition     = alltrue([for r in var.rules : contains(["actual", "forecast", "estimate", "rate", "baseline"], r.basis)])
    error_message = "Every rule basis must be \"actual\" (cost so far), \"forecast\" (forecast cost for the period), \"estimate\", \"rate\" or \"baseline\" (the usage watchdog's)."
  }
  validation {
    condition     = alltrue([for r in var.rules : (r.threshold != null) == contains(["actual", "forecast", "estimate"], r.basis)])
    error_message = "threshold is required for actual, forecast and estimate rules, and not allowed for rate and baseline rules."
  }
  validation {
    condition = alltrue([for r in var.rules : contains(["rate", "baseline"], r.basis) ? (
      try(r.window_minutes >= 1 && r.window_minutes <= 1440 && floor(r.window_minutes) == r.window_minutes && r.amount > 0, false)
    ) : r.window_minutes == null && r.amount == null])
    error_message = "rate and baseline rules need window_minutes (a whole number from 1 to 1440) and amount (> 0); other rules take neither."
  }
  validation {
    condition     = alltrue([for r in var.rules : r.basis == "baseline" ? try(r.multiple >= 1, false) : r.multiple == null])
    error_message = "baseline rules need multiple (>= 1, times the trailing 7-day average); other rules do not take it."
  }
  validation {
    condition     = !anytrue([for r in var.rules : contains(["estimate", "rate", "baseline"], r.basis)]) || var.watchdog != null
    error_message = "estimate, rate and baseline rules need the usage watchdog (watchdog must not be null)."
  }
  validation {
    condition     = alltrue([for r in var.rules : length(r.actions) > 0 && length(distinct(r.actions)) == length(r.actions)])
    error_message = "Every rule must name at least one action, each action once."
  }
  validation {
    condition     = alltrue(flatten([for r in var.rules : [for a in r.actions : contains(keys(local.permissions_by_action), a)]]))
    error_message = "Unknown action in rules; the known actions are: ${join(", ", sort(keys(local.permissions_by_action)))}."
  }
}

variable "protected_projects" {
  description = "Project IDs the guard never acts on (it records and logs what it would have done). Empty list: no project is protected."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for p in var.protected_projects : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", p))])
    error_message = "protected_projects must be project IDs (6-30 characters: lower-case letters, digits, hyphens; starting with a letter)."
  }
  # The function refuses the same policy at start-up: unlinking the host's billing stops the guard.
  validation {
    condition = (
      contains(var.protected_projects, var.ledger_project)
      || !contains(flatten([for r in var.rules : r.actions]), "disable_billing")
      || !contains(flatten([for b in var.budgets : b.projects]), var.ledger_project)
    )
    error_message = "The guard's host project (project_id, where its ledger lives) is a guarded project and a rule uses disable_billing: unlinking it would stop the guard itself. Host the guard in a project of its own, or list the host in protected_projects."
  }
}

variable "dry_run" {
  description = "true: the guard decides, records and logs which actions would run, and runs none. false: it acts. Rendered as a JSON boolean (never the string \"false\")."
  type        = bool
  nullable    = false
}

variable "ledger_project" {
  description = "Project ID that holds the ledger's Firestore database (usually the guard's host project)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.ledger_project))
    error_message = "ledger_project must be a project ID (6-30 characters: lower-case letters, digits, hyphens; starting with a letter)."
  }
}

variable "ledger_database" {
  description = "Firestore database ID of the ledger: 4-63 characters, lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen; or \"(default)\"."
  type        = string
  nullable    = false

  validation {
    condition     = var.ledger_database == "(default)" || can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.ledger_database))
    error_message = "ledger_database must be 4-63 characters of lower-case letters, digits and hyphens, start with a letter and not end with a hyphen (or be \"(default)\")."
  }
}

variable "events_topic" {
  description = "Pub/Sub topic the notify action publishes crossing events to, as projects/PROJECT/topics/NAME. null: notify only logs."
  type        = string
  default     = null

  validation {
    condition     = var.events_topic == null || can(regex("^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$", var.events_topic))
    error_message = "events_topic must be a full topic name: projects/PROJECT_ID/topics/TOPIC (topic names are 3-255 characters starting with a letter)."
  }
}

variable "key_match_display_names" {
  description = "API keys the key actions (rotate_keys, revoke_keys) select, by display name. Empty list: \"gemini\", i.e. every key that can call a Gemini API (no API restriction, or an API target among generativelanguage.googleapis.com and the Gemini services in var.services; a service-account binding alone does not count)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(distinct(var.key_match_display_names)) == length(var.key_match_display_names)
    error_message = "key_match_display_names must not repeat a display name."
  }
}

variable "key_secret" {
  description = "Secret Manager secret that receives rotated key strings, as projects/PROJECT/secrets/NAME; NAME may hold {project} (one secret per guarded project). null: rotate_keys keeps no copy of the new key strings."
  type        = string
  default     = null

  validation {
    condition     = var.key_secret == null || can(regex("^projects/[a-z0-9-]{6,30}/secrets/[A-Za-z0-9_-]{1,255}$", replace(coalesce(var.key_secret, "-"), "{project}", "pppppppppppppppppppppppppppppp")))
    error_message = "key_secret must be a full secret name: projects/PROJECT_ID/secrets/SECRET_ID (secret IDs use letters, digits, '_' and '-', and may hold {project})."
  }
  # The function refuses the same policy at start-up (keys.secret): refuse it at plan time.
  validation {
    condition = (
      var.key_secret == null
      || strcontains(coalesce(var.key_secret, "-"), "{project}")
      || !contains(flatten([for r in var.rules : r.actions]), "rotate_keys")
      || length(setsubtract(toset(flatten([for b in var.budgets : b.projects])), toset(var.protected_projects))) <= 1
    )
    error_message = "key_secret would be overwritten by the rotate_keys of several guarded projects (each version holds one project's keys): put {project} in its name, e.g. gemini-api-key-{project}."
  }
}

variable "services" {
  description = "Services the disable_service action turns off on a guarded project, as service names (e.g. \"generativelanguage.googleapis.com\", the Gemini API)."
  type        = list(string)
  default     = ["generativelanguage.googleapis.com"]
  nullable    = false

  validation {
    condition     = length(var.services) > 0 && length(distinct(var.services)) == length(var.services)
    error_message = "services must name at least one service, each once."
  }
  validation {
    condition     = alltrue([for s in var.services : can(regex("^[a-z0-9-]+(\\.[a-z0-9-]+)+$", s))])
    error_message = "services must be service names like generativelanguage.googleapis.com."
  }
}

variable "extra_actions" {
  description = "Actions the guard runs outside the budget rules (the leaked-key handler's notify and revoke_leaked_key): their permissions join the custom role. Empty: none."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.extra_actions : contains(keys(local.permissions_by_action), a)])
    error_message = "Unknown action in extra_actions; the known actions are: ${join(", ", sort(keys(local.permissions_by_action)))}."
  }
}

variable "throttle" {
  description = "What the throttle action lowers (the policy's \"throttle\" section): quotas = [{ family = requests_per_minute | requests_per_day | input_tokens_per_minute, value = whole number >= 0, models = [\"*\"] (every model) or model ids }], tier = auto (every tier's quota ids the project has) | free | tier1 | tier2 | tier3. null: no throttle section (then no rule may use throttle)."
  type = object({
    tier = optional(string, "auto")
    quotas = list(object({
      family = string
      value  = number
      models = optional(list(string), ["*"])
    }))
  })
  default = null

  validation {
    condition     = var.throttle != null || !contains(flatten([for r in var.rules : r.actions]), "throttle")
    error_message = "A rule uses throttle: set throttle = { quotas = [...] } to say which quotas it lowers."
  }
  validation {
    condition     = var.throttle == null || try(length(var.throttle.quotas) > 0 && alltrue([for q in var.throttle.quotas : contains(["requests_per_minute", "requests_per_day", "input_tokens_per_minute"], q.family) && q.value >= 0 && floor(q.value) == q.value && length(q.models) > 0]), false)
    error_message = "throttle.quotas: at least one, each with family requests_per_minute, requests_per_day or input_tokens_per_minute, a whole value >= 0 and at least one model (or \"*\")."
  }
  validation {
    condition     = var.throttle == null || try(contains(["auto", "free", "tier1", "tier2", "tier3"], var.throttle.tier), false)
    error_message = "throttle.tier must be auto, free, tier1, tier2 or tier3."
  }
}

variable "ceiling" {
  description = "The daily spend ceiling the quotas set by `budget-guard ceiling --apply` (or infra quota_values) must hold; `budget-guard check` reports whether they still do. daily: amount as a string (\"50\"); models: the models it covers (empty: every model with a ceiling quota). null: none."
  type = object({
    daily  = string
    models = optional(list(string), [])
  })
  default = null

  validation {
    condition     = var.ceiling == null || try(tonumber(var.ceiling.daily) > 0, false)
    error_message = "ceiling.daily must be an amount > 0, as a string like \"50\"."
  }
}

variable "source_topic" {
  description = "The alerts topic (projects/PROJECT/topics/NAME) the budget publishes to: a CloudEvent whose source is another topic is rejected as spoofed. null: the source is not checked."
  type        = string
  default     = null

  validation {
    condition     = var.source_topic == null || can(regex("^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][\\w.~+%-]{2,254}$", coalesce(var.source_topic, "-")))
    error_message = "source_topic must be a full topic name: projects/PROJECT_ID/topics/TOPIC."
  }
}

variable "watchdog" {
  description = "The usage watchdog's policy section, or null (no watchdog). interval_minutes: how often the Scheduler ticks (1-60). scope_project: the project whose metrics scope holds the guarded projects (null: ledger_project). unknown_model_rate: {input, output} per 1M tokens for a model missing from the price table (null: the dearest known rate). reconcile_tolerance: how far (a share, 0.2 = 20 %) the estimate may fall below a budget notification's cost before the guard logs an ERROR."
  type = object({
    interval_minutes = optional(number, 5)
    scope_project    = optional(string)
    unknown_model_rate = optional(object({
      input  = number
      output = number
    }))
    reconcile_tolerance = optional(number, 0.2)
  })
  default = null

  validation {
    condition     = var.watchdog == null || try(var.watchdog.interval_minutes >= 1 && var.watchdog.interval_minutes <= 60 && floor(var.watchdog.interval_minutes) == var.watchdog.interval_minutes, false)
    error_message = "watchdog.interval_minutes must be a whole number of minutes from 1 to 60."
  }
  validation {
    condition     = var.watchdog == null || try(var.watchdog.reconcile_tolerance > 0 && var.watchdog.reconcile_tolerance < 1, false)
    error_message = "watchdog.reconcile_tolerance must be > 0 and < 1 (a share of the billed cost: 0.2 = 20 %)."
  }
  validation {
    condition     = try(var.watchdog.unknown_model_rate, null) == null ? true : try(var.watchdog.unknown_model_rate.input > 0 && var.watchdog.unknown_model_rate.output > 0, false)
    error_message = "watchdog.unknown_model_rate input and output must be > 0 (per 1M tokens): an unknown model is never free."
  }
}
