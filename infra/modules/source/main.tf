/**
 * Which files go into the function's source zip. Provider-free (locals and outputs only), so
 * tests/infra evaluates it offline with `terraform apply` against the real repository.
 */

locals {
  # Allow-list: only what the deployed function needs. Everything else in the repository stays
  # out by construction.
  include = ["main.py", "requirements.txt", "functions/**"]

  # Second lock, applied to whatever the allow-list matches: never the tests, the local stand-in,
  # the local tooling, benchmarks, this Terraform, docs, virtualenvs or git metadata...
  exclude_dirs = ["tests/", "standin/", "local/", "bench/", "infra/", "docs/", ".venv/", ".venv-checkov/", ".git/"]
  # ...nor byte-code caches and editor litter anywhere.
  exclude_segments = ["__pycache__/", ".mypy_cache/", ".pytest_cache/", ".ruff_cache/"]
  exclude_suffixes = [".pyc", ".pyo", ".DS_Store", "~"]

  matched = setunion([for p in local.include : fileset(var.source_dir, p)]...)
  files = sort([
    for f in local.matched : f
    if !anytrue([for d in local.exclude_dirs : startswith(f, d)]) && !anytrue([for p in local.exclude_segments : strcontains(f, p)]) && !anytrue([for x in local.exclude_suffixes : endswith(f, x)])
  ])
}
