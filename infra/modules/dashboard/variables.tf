variable "name" {
  description = "Base name of the guard (its function's name); the dashboard is \"Budget Guard <name>\"."
  type        = string
  nullable    = false
}

variable "projects" {
  description = "Guarded projects: map of project ID to project number (the Gemini resource's resource_container may hold either). One row of tiles each."
  type        = map(string)
  nullable    = false
}

variable "period_seconds" {
  description = "Alignment period of every chart, in seconds (at least 60): the watchdog's interval, so each point holds one tick."
  type        = number
  nullable    = false

  validation {
    condition     = var.period_seconds >= 60 && floor(var.period_seconds) == var.period_seconds
    error_message = "period_seconds must be a whole number of seconds, at least 60 (Cloud Monitoring's least alignment period)."
  }
}

variable "metrics" {
  description = "Names (google_logging_metric.name) of the guard's log-based metrics the tiles chart."
  type = object({
    crossings              = string
    actions                = string
    errors                 = string
    watchdog_estimate      = string
    watchdog_budget_amount = string
    notifications_handled  = string
    watchdog_ticks         = string
  })
  nullable = false
}
