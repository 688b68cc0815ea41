terraform {
  # Provider-free on purpose: tests/infra evaluates the file selection offline.
  required_version = ">= 1.9"
}
