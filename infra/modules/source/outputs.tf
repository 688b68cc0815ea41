output "files" {
  description = "Sorted paths, relative to source_dir, of the files the function's source zip holds."
  value       = local.files
}

output "exclude_dirs" {
  description = "Top-level directories never shipped, whatever the allow-list matches."
  value       = local.exclude_dirs
}
