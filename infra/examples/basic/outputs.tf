output "alerts_topic" {
  description = "Topic the budget publishes to (publish test notifications here)."
  value       = module.budget_guard.alerts_topic
}

output "budget_ids" {
  description = "Budget ID per budget key (the budgetId attribute of notifications)."
  value       = module.budget_guard.budget_ids
}

output "function_name" {
  description = "Name of the guard's Cloud Function."
  value       = module.budget_guard.function_name
}

output "function_service_account" {
  description = "The guard's service account."
  value       = module.budget_guard.function_service_account
}

output "events_topic" {
  description = "Topic the guard publishes crossing events to."
  value       = module.budget_guard.events_topic
}

output "ledger_database" {
  description = "The ledger's Firestore database."
  value       = module.budget_guard.ledger_database
}
