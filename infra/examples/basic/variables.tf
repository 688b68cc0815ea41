variable "project_id" {
  description = "Host project ID that runs the guard (not a guarded project), e.g. \"guard-host\"."
  type        = string
}

variable "billing_account" {
  description = "Cloud Billing account ID, e.g. \"01D4EE-079462-DFD6EC\"."
  type        = string
}

variable "guarded_project" {
  description = "Project ID whose Gemini API spend the guard brakes, e.g. \"gemini-prod\"."
  type        = string
}

variable "monthly_budget" {
  description = "Monthly budget of the guarded project, in units of currency_code (e.g. 100 = 100 USD)."
  type        = number
  default     = 100
}

variable "currency_code" {
  description = "ISO 4217 currency of the billing account, e.g. \"USD\"."
  type        = string
  default     = "USD"
}

variable "dry_run" {
  description = "true: the guard only records and logs what it would do. Start with true, send a test notification (README), then set false."
  type        = bool
  default     = true
}

variable "alert_email" {
  description = "Email address that receives the guard's own alerts (it failed to act, notifications dead-lettered)."
  type        = string
}
