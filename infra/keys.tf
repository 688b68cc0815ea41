# rotate_keys binds each replacement of an auth key to the old key's service account, which
# Google allows only to a caller with iam.serviceAccounts.actAs on that account. Granted here on
# the accounts listed in var.key_service_accounts only (never on a project), and only when a
# rule uses rotate_keys. `budget-guard check` tests the grant for every bound key it would rotate.
resource "google_service_account_iam_member" "key_service_account_user" {
  for_each = contains(module.policy.actions_used, "rotate_keys") ? toset(var.key_service_accounts) : toset([])

  service_account_id = "projects/${regex("@([a-z][a-z0-9-]+)\\.iam\\.gserviceaccount\\.com$", each.key)[0]}/serviceAccounts/${each.key}"
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.function.member
}
