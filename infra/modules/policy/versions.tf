terraform {
  # Provider-free on purpose: `terraform init` and `terraform apply` evaluate this module offline,
  # which is how tests/infra checks the rendered policy against the function's own validation.
  # 1.9+: validation blocks refer to local.permissions_by_action.
  required_version = ">= 1.9"
}
