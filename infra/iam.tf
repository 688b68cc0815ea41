# Least privilege, one grant per need. Nothing here (or anywhere in this module) grants to
# allUsers or allAuthenticatedUsers; tests/infra checks it.

# --- on each guarded project: exactly the permissions of the actions the rules use -------------

# One custom role per guarded project rather than one at the organization: it needs no
# organization (many Gemini projects have none), the deployer needs roles/iam.roleAdmin on the
# guarded projects only, and the role cannot be bound anywhere else by mistake. Protected
# projects get nothing. A rule set that only notifies needs no role at all.
resource "google_project_iam_custom_role" "actions" {
  for_each = length(module.policy.custom_role_permissions) > 0 ? local.guarded_projects : toset([])

  project     = each.key
  role_id     = var.custom_role_id
  title       = "Budget Guard actions"
  description = "Exactly what the Budget Guard actions ${join(", ", module.policy.actions_used)} need on this project (managed by Terraform, ${var.project_id}/${var.name})."
  permissions = module.policy.custom_role_permissions
  stage       = "GA"
}

resource "google_project_iam_member" "actions" {
  for_each = google_project_iam_custom_role.actions

  project = each.key
  role    = each.value.name
  member  = google_service_account.function.member
}

# --- on the host project: the ledger database only ---------------------------------------------

resource "google_project_iam_member" "ledger" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.function.member

  # Firestore supports per-database IAM conditions: this grant reaches the ledger and no other
  # database in the host project.
  condition {
    title       = "${var.name}-ledger-only"
    description = "Only the Budget Guard ledger database ${google_firestore_database.ledger.name}."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${google_firestore_database.ledger.name}\""
  }
}

# --- the key secrets: add versions, never read them (each secret, not the project) ------------

resource "google_secret_manager_secret_iam_member" "key_secret" {
  for_each = contains(module.policy.actions_used, "rotate_keys") ? local.key_secret_ids : toset([])

  project   = local.key_secret_project
  secret_id = each.key
  role      = "roles/secretmanager.secretVersionAdder"
  member    = google_service_account.function.member

  depends_on = [google_secret_manager_secret.keys]
}

# --- delivery: the trigger may invoke this function's service and nothing else ----------------

resource "google_cloud_run_v2_service_iam_member" "trigger_invoker" {
  project  = var.project_id
  location = var.region
  # A gen2 function runs as the Cloud Run service of the same name.
  name   = google_cloudfunctions2_function.this.name
  role   = "roles/run.invoker"
  member = google_service_account.trigger.member
}

# Pub/Sub mints the OIDC token of the trigger's identity for each push. Projects made before
# April 2021 lack this grant on their Pub/Sub service agent; it is scoped to this one account.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = google_service_account.trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}
