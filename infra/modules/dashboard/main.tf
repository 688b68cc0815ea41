/**
 * The Budget Guard dashboard as data: provider-free (variables, locals, outputs), so
 * `terraform apply` evaluates it offline and tests/infra checks every query against the kind of
 * its metric. The root module (infra/dashboard.tf) passes the log-based metrics' names and the
 * guarded projects' numbers and creates google_monitoring_dashboard from `dashboard_json`.
 */

locals {
  log_metric_prefix = "logging.googleapis.com/user"

  # Input-token quota usage, one metric per Gemini API tier (USAGE.md §3); only the project's
  # tier has data. Each /usage series exists once per limit_name (PerMinute and PerDay carry the
  # same figure): the tile keeps the PerMinute one.
  input_token_quota_metrics = {
    "free tier" = "generativelanguage.googleapis.com/quota/generate_content_free_tier_input_token_count/usage"
    "tier 1"    = "generativelanguage.googleapis.com/quota/generate_content_paid_tier_input_token_count/usage"
    "tier 2"    = "generativelanguage.googleapis.com/quota/generate_content_paid_tier_2_input_token_count/usage"
    "tier 3"    = "generativelanguage.googleapis.com/quota/generate_content_paid_tier_3_input_token_count/usage"
  }

  dashboard_projects = sort(keys(var.projects))
  dashboard_period   = "${var.period_seconds}s"

  # The Gemini resource's resource_container may hold the project ID or its number (USAGE.md §8).
  dashboard_container = {
    for p in local.dashboard_projects : p => "one_of(\"${p}\", \"${var.projects[p]}\", \"projects/${var.projects[p]}\")"
  }

  # Counts from log-based (DELTA INT64) metrics: sum per period, summed across revisions.
  dashboard_count = {
    alignmentPeriod    = local.dashboard_period
    perSeriesAligner   = "ALIGN_SUM"
    crossSeriesReducer = "REDUCE_SUM"
  }

  # Rows of 48 columns: a header, then two rows of charts per project.
  dashboard_row_height = 26
  dashboard_project_tiles = flatten([
    for i, p in local.dashboard_projects : [
      {
        xPos = 0, yPos = i * local.dashboard_row_height, width = 48, height = 2
        widget = {
          title = "Project ${p}"
          text  = { content = "Guarded project `${p}`: spend estimate, Gemini usage and what the guard did.", format = "MARKDOWN" }
        }
      },
      {
        xPos = 0, yPos = i * local.dashboard_row_height + 2, width = 16, height = 12
        widget = {
          title = "Watchdog estimate vs budget (${p})"
          xyChart = {
            chartOptions = { mode = "COLOR" }
            yAxis        = { label = "currency units, period to date", scale = "LINEAR" }
            dataSets = [
              for name, metric in {
                estimate = var.metrics.watchdog_estimate
                budget   = var.metrics.watchdog_budget_amount
                } : {
                plotType       = "LINE"
                targetAxis     = "Y1"
                legendTemplate = "${name} $${metric.labels.budget} ($${metric.labels.currency})"
                timeSeriesQuery = {
                  timeSeriesFilter = {
                    filter = "metric.type=\"${local.log_metric_prefix}/${metric}\" AND metric.label.project=\"${p}\""
                    # The mean of a distribution is exact (sum / count): one tick per period.
                    aggregation = {
                      alignmentPeriod    = local.dashboard_period
                      perSeriesAligner   = "ALIGN_DELTA"
                      crossSeriesReducer = "REDUCE_MEAN"
                      groupByFields      = ["metric.label.budget", "metric.label.currency"]
                    }
                  }
                }
              }
            ]
          }
        }
      },
      {
        xPos = 16, yPos = i * local.dashboard_row_height + 2, width = 16, height = 12
        widget = {
          title = "Output tokens per model (${p})"
          xyChart = {
            chartOptions = { mode = "COLOR" }
            yAxis        = { label = "tokens per period", scale = "LINEAR" }
            dataSets = [{
              plotType       = "STACKED_BAR"
              targetAxis     = "Y1"
              legendTemplate = "$${metric.labels.model}"
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter = "metric.type=\"generativelanguage.googleapis.com/generate_content_usage_output_token_count\" AND resource.type=\"generativelanguage.googleapis.com/Location\" AND resource.label.resource_container=${local.dashboard_container[p]}"
                  aggregation = {
                    alignmentPeriod    = local.dashboard_period
                    perSeriesAligner   = "ALIGN_SUM"
                    crossSeriesReducer = "REDUCE_SUM"
                    groupByFields      = ["metric.label.model"]
                  }
                }
              }
            }]
          }
        }
      },
      {
        xPos = 32, yPos = i * local.dashboard_row_height + 2, width = 16, height = 12
        widget = {
          title = "Input tokens per model, quota usage (${p})"
          xyChart = {
            chartOptions = { mode = "COLOR" }
            yAxis        = { label = "tokens per period (cached included)", scale = "LINEAR" }
            dataSets = [
              for tier, metric in local.input_token_quota_metrics : {
                plotType       = "STACKED_BAR"
                targetAxis     = "Y1"
                legendTemplate = "$${metric.labels.model} (${tier})"
                timeSeriesQuery = {
                  timeSeriesFilter = {
                    filter = "metric.type=\"${metric}\" AND resource.type=\"generativelanguage.googleapis.com/Location\" AND resource.label.resource_container=${local.dashboard_container[p]} AND metric.label.limit_name=has_substring(\"PerMinute\")"
                    aggregation = {
                      alignmentPeriod    = local.dashboard_period
                      perSeriesAligner   = "ALIGN_SUM"
                      crossSeriesReducer = "REDUCE_SUM"
                      groupByFields      = ["metric.label.model"]
                    }
                  }
                }
              }
            ]
          }
        }
      },
      {
        xPos = 0, yPos = i * local.dashboard_row_height + 14, width = 12, height = 12
        widget = {
          title = "Gemini API requests per key (${p})"
          xyChart = {
            chartOptions = { mode = "COLOR" }
            yAxis        = { label = "requests per period", scale = "LINEAR" }
            dataSets = [{
              plotType       = "STACKED_BAR"
              targetAxis     = "Y1"
              legendTemplate = "$${resource.labels.credential_id}"
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter = "metric.type=\"serviceruntime.googleapis.com/api/request_count\" AND resource.type=\"consumed_api\" AND resource.label.service=\"generativelanguage.googleapis.com\" AND resource.label.project_id=\"${p}\""
                  aggregation = {
                    alignmentPeriod    = local.dashboard_period
                    perSeriesAligner   = "ALIGN_SUM"
                    crossSeriesReducer = "REDUCE_SUM"
                    groupByFields      = ["resource.label.credential_id"]
                  }
                }
              }
            }]
          }
        }
      },
      {
        xPos = 12, yPos = i * local.dashboard_row_height + 14, width = 12, height = 12
        widget = {
          title = "Guard crossings (${p})"
          xyChart = {
            chartOptions = { mode = "COLOR" }
            yAxis        = { label = "crossings", scale = "LINEAR" }
            dataSets = [{
              plotType       = "STACKED_BAR"
              targetAxis     = "Y1"
              legendTemplate = "$${metric.labels.rule}"
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter      = "metric.type=\"${local.log_metric_prefix}/${var.metrics.crossings}\" AND metric.label.project=\"${p}\""
                  aggregation = merge(local.dashboard_count, { groupByFields = ["metric.label.rule"] })
                }
              }
            }]
          }
        }
      },
      {
        xPos = 24, yPos = i * local.dashboard_row_height + 14, width = 12, height = 12
        widget = {
          title = "Guard actions by outcome (${p})"
          xyChart = {
            chartOptions = { mode = "COLOR" }
            yAxis        = { label = "actions", scale = "LINEAR" }
            dataSets = [{
              plotType       = "STACKED_BAR"
              targetAxis     = "Y1"
              legendTemplate = "$${metric.labels.action}: $${metric.labels.outcome}"
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter      = "metric.type=\"${local.log_metric_prefix}/${var.metrics.actions}\" AND metric.label.project=\"${p}\""
                  aggregation = merge(local.dashboard_count, { groupByFields = ["metric.label.action", "metric.label.outcome"] })
                }
              }
            }]
          }
        }
      },
      {
        xPos = 36, yPos = i * local.dashboard_row_height + 14, width = 12, height = 12
        widget = {
          title = "Guard errors (${p})"
          xyChart = {
            chartOptions = { mode = "COLOR" }
            yAxis        = { label = "ERROR lines", scale = "LINEAR" }
            dataSets = [{
              plotType       = "STACKED_BAR"
              targetAxis     = "Y1"
              legendTemplate = "$${metric.labels.action}"
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter      = "metric.type=\"${local.log_metric_prefix}/${var.metrics.errors}\" AND metric.label.project=\"${p}\""
                  aggregation = merge(local.dashboard_count, { groupByFields = ["metric.label.action"] })
                }
              }
            }]
          }
        }
      },
    ]
  ])

  dashboard_guard_y = length(local.dashboard_projects) * local.dashboard_row_height
  dashboard_guard_tiles = [
    for i, m in [
      { title = "Budget notifications handled (heartbeat)", metric = var.metrics.notifications_handled },
      { title = "Watchdog ticks (heartbeat)", metric = var.metrics.watchdog_ticks },
      ] : {
      xPos = i * 24, yPos = local.dashboard_guard_y, width = 24, height = 12
      widget = {
        title = m.title
        xyChart = {
          chartOptions = { mode = "COLOR" }
          yAxis        = { label = "per period", scale = "LINEAR" }
          dataSets = [{
            plotType   = "STACKED_BAR"
            targetAxis = "Y1"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter      = "metric.type=\"${local.log_metric_prefix}/${m.metric}\""
                aggregation = local.dashboard_count
              }
            }
          }]
        }
      }
    }
  ]

  dashboard = {
    displayName = "Budget Guard ${var.name}"
    mosaicLayout = {
      columns = 48
      tiles   = concat(local.dashboard_project_tiles, local.dashboard_guard_tiles)
    }
  }
}

