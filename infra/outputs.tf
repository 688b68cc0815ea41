output "alerts_topic" {
  description = "Full name (projects/P/topics/T) of the topic the budgets publish to and the function's trigger listens on."
  value       = google_pubsub_topic.alerts.id
}

output "events_topic" {
  description = "Full name of the topic notify publishes crossing events to; subscribe other systems here."
  value       = google_pubsub_topic.events.id
}

output "dead_letter_topic" {
  description = "Full name of the dead-letter topic for notifications the function failed to take."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription" {
  description = "Full name of the subscription keeping dead-lettered notifications for 7 days."
  value       = google_pubsub_subscription.dead_letter.id
}

output "function_name" {
  description = "Name of the Cloud Function (gen2) and of the Cloud Run service it runs as."
  value       = google_cloudfunctions2_function.this.name
}

output "function_id" {
  description = "Full name of the function: projects/P/locations/REGION/functions/NAME."
  value       = google_cloudfunctions2_function.this.id
}

output "function_uri" {
  description = "URI of the function's service (internal ingress only: not reachable from the internet)."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
}

output "eventarc_trigger" {
  description = "Full name of the Eventarc trigger that delivers alerts to the function."
  value       = google_cloudfunctions2_function.this.event_trigger[0].trigger
}

output "function_service_account" {
  description = "Email of the guard's own service account (the identity that acts on guarded projects)."
  value       = google_service_account.function.email
}

output "trigger_service_account" {
  description = "Email of the Eventarc trigger's service account (roles/run.invoker on the function only)."
  value       = google_service_account.trigger.email
}

output "budget_ids" {
  description = "Budget ID (UUID) per budgets key: the budgetId attribute of its notifications."
  value       = local.budget_ids
}

output "budget_names" {
  description = "Full budget name per budgets key: billingAccounts/ACCOUNT/budgets/UUID."
  value       = { for k, b in google_billing_budget.this : k => b.name }
}

output "policy_json" {
  description = "The policy the function runs with (its BUDGET_GUARD_POLICY)."
  value       = module.policy.policy_json
}

output "guarded_projects" {
  description = "Projects the guard may act on: the budgets' projects minus protected_projects."
  value       = sort(tolist(local.guarded_projects))
}

output "custom_role_permissions" {
  description = "Permissions of the custom role granted on each guarded project (empty: no role, rules only notify)."
  value       = module.policy.custom_role_permissions
}

output "ledger_database" {
  description = "Full name of the ledger's Firestore database: projects/P/databases/D."
  value       = google_firestore_database.ledger.id
}

output "key_secret" {
  description = "Full name of the secret that receives rotated key strings (with {project} when there is one per guarded project), or null."
  value       = local.key_secret_name
}

output "source_object" {
  description = "gs:// URL of the deployed source zip (named by its SHA-256)."
  value       = "gs://${google_storage_bucket.source.name}/${google_storage_bucket_object.source.name}"
}
