terraform {
  # Provider-free on purpose: `terraform apply` evaluates this module offline, which is how
  # tests/infra checks every chart's query against its metric's kind.
  required_version = ">= 1.9"
}
