output "policy" {
  description = "The policy document as a Terraform object (the shape functions.policy.parse_policy validates)."
  value       = local.policy
}

output "policy_json" {
  description = "The policy rendered with jsonencode: the value of the function's BUDGET_GUARD_POLICY environment variable."
  value       = jsonencode(local.policy)
}

output "threshold_rules" {
  description = "The budget's threshold rules: list of {threshold_percent (fraction, 1.0 = 100 %), spend_basis (CURRENT_SPEND | FORECASTED_SPEND)}, one per distinct (threshold, basis) pair of the rules, in rule order."
  value       = local.threshold_rules
}

output "permissions_by_action" {
  description = "IAM permissions each known action needs on a guarded project (map of action name to sorted list)."
  value       = local.permissions_by_action
}

output "actions_used" {
  description = "Sorted, distinct action names the rules use."
  value       = local.actions_used
}

output "custom_role_permissions" {
  description = "Sorted union of the permissions of the actions the rules use: the guard's custom role on each guarded project. Empty when the rules only notify."
  value       = local.custom_role_permissions
}
