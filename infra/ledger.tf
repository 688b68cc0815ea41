# The once-per-crossing ledger and audit trail (named Firestore database, native mode).
resource "google_firestore_database" "ledger" {
  project     = var.project_id
  name        = var.ledger_database
  location_id = coalesce(var.ledger_location, var.region)
  type        = "FIRESTORE_NATIVE"
  # Transactions on the claim document lock it: two deliveries cannot both claim a crossing.
  concurrency_mode = "PESSIMISTIC"

  point_in_time_recovery_enablement = var.ledger_point_in_time_recovery ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.ledger_deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  # Protected: `terraform destroy` forgets the database and leaves the audit trail in place.
  deletion_policy = var.ledger_deletion_protection ? "ABANDON" : "DELETE"

  depends_on = [google_project_service.host]
}

# Optional: the secrets rotate_keys hands new key strings to (it may only add versions); one per
# guarded project when key_secret.secret_id holds {project}.
resource "google_secret_manager_secret" "keys" {
  for_each = var.key_secret != null && try(var.key_secret.create, true) ? local.key_secret_ids : toset([])

  project   = local.key_secret_project
  secret_id = each.key
  labels    = var.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.host]
}
