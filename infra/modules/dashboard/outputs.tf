output "dashboard" {
  description = "The dashboard as a Terraform object (the Cloud Monitoring Dashboard resource: displayName, mosaicLayout)."
  value       = local.dashboard
}

output "dashboard_json" {
  description = "The dashboard rendered with jsonencode: google_monitoring_dashboard.dashboard_json."
  value       = jsonencode(local.dashboard)
}
