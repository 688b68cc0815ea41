"""infra/modules/dashboard evaluated for real (offline ``terraform apply``): every chart's query
is valid for the kind of its metric, every guarded project has its tiles, and the root module
feeds it the log-based metrics it defines.

Metric kinds: Google's metrics from /work/shared/USAGE.md §3; the log-based ones from their own
``metric_descriptor`` in infra/*.tf. Aligner and reducer rules: google/monitoring/v3/common.proto
(Aggregation.Aligner, Aggregation.Reducer).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.helpers import Module, offline_root, ref

NUMERIC = frozenset({"INT64", "DOUBLE"})
DISTRIBUTION = frozenset({"DISTRIBUTION"})

# aligner -> (metric kinds, value types it accepts, value type of its output; None = unchanged)
ALIGNERS: dict[str, tuple[frozenset[str], frozenset[str], str | None]] = {
    "ALIGN_DELTA": (frozenset({"CUMULATIVE", "DELTA"}), NUMERIC | DISTRIBUTION, None),
    "ALIGN_RATE": (frozenset({"CUMULATIVE", "DELTA"}), NUMERIC, "DOUBLE"),
    "ALIGN_INTERPOLATE": (frozenset({"GAUGE"}), NUMERIC, None),
    "ALIGN_NEXT_OLDER": (frozenset({"GAUGE"}), NUMERIC | DISTRIBUTION | {"BOOL", "STRING"}, None),
    "ALIGN_MIN": (frozenset({"GAUGE", "DELTA"}), NUMERIC, None),
    "ALIGN_MAX": (frozenset({"GAUGE", "DELTA"}), NUMERIC, None),
    "ALIGN_MEAN": (frozenset({"GAUGE", "DELTA"}), NUMERIC, "DOUBLE"),
    "ALIGN_COUNT": (frozenset({"GAUGE", "DELTA"}), NUMERIC | {"BOOL"}, "INT64"),
    "ALIGN_SUM": (frozenset({"GAUGE", "DELTA"}), NUMERIC | DISTRIBUTION, None),
    "ALIGN_STDDEV": (frozenset({"GAUGE", "DELTA"}), NUMERIC, "DOUBLE"),
    "ALIGN_PERCENTILE_99": (frozenset({"GAUGE", "DELTA"}), DISTRIBUTION, "DOUBLE"),
    "ALIGN_PERCENTILE_50": (frozenset({"GAUGE", "DELTA"}), DISTRIBUTION, "DOUBLE"),
}
# reducer -> value types it accepts (after alignment)
REDUCERS: dict[str, frozenset[str]] = {
    "REDUCE_MEAN": NUMERIC | DISTRIBUTION,
    "REDUCE_MIN": NUMERIC,
    "REDUCE_MAX": NUMERIC,
    "REDUCE_SUM": NUMERIC | DISTRIBUTION,
    "REDUCE_COUNT": NUMERIC | DISTRIBUTION | {"BOOL", "STRING"},
    "REDUCE_PERCENTILE_99": NUMERIC | DISTRIBUTION,
}


def metric(kind: str, value: str, resource: str, r_labels: set[str], m_labels: set[str]) -> Any:
    return {
        "kind": kind,
        "value": value,
        "resource": resource,
        "resource_labels": r_labels,
        "labels": m_labels,
    }


GEMINI = "generativelanguage.googleapis.com/Location"
GEMINI_LABELS = {"resource_container", "location"}
QUOTA_LABELS = {"model", "limit_name", "method"}
# USAGE.md §3.
BUILTIN = {
    "generativelanguage.googleapis.com/generate_content_usage_output_token_count": metric(
        "DELTA", "INT64", GEMINI, GEMINI_LABELS, {"model", "output_modality", "thinking_enabled"}
    ),
    **{
        f"generativelanguage.googleapis.com/quota/{qm}/usage": metric(
            "DELTA", "INT64", GEMINI, GEMINI_LABELS, QUOTA_LABELS
        )
        for qm in (
            "generate_content_free_tier_input_token_count",
            "generate_content_paid_tier_input_token_count",
            "generate_content_paid_tier_2_input_token_count",
            "generate_content_paid_tier_3_input_token_count",
        )
    },
    "serviceruntime.googleapis.com/api/request_count": metric(
        "DELTA",
        "INT64",
        "consumed_api",
        {"project_id", "service", "method", "version", "location", "credential_id"},
        {"response_code", "response_code_class", "grpc_status_code", "protocol"},
    ),
}
CLOUD_RUN_LABELS = {"project_id", "service_name", "revision_name", "configuration_name", "location"}

PROJECTS = {"gemini-prod": "123456789012", "gemini-dev": "210987654321"}
METRIC_NAMES = {
    "crossings": "budget-guard/crossings",
    "actions": "budget-guard/actions",
    "errors": "budget-guard/errors",
    "watchdog_estimate": "budget-guard/watchdog_estimate",
    "watchdog_budget_amount": "budget-guard/watchdog_budget_amount",
    "notifications_handled": "budget-guard/notifications_handled",
    "watchdog_ticks": "budget-guard/watchdog_ticks",
}
MAIN_TF = f"""
module "dashboard" {{
  source         = "./dashboard"
  name           = "budget-guard"
  period_seconds = 300
  projects       = {json.dumps(PROJECTS)}
  metrics        = {json.dumps(METRIC_NAMES)}
}}

output "dashboard" {{ value = module.dashboard.dashboard }}
output "dashboard_json" {{ value = module.dashboard.dashboard_json }}
"""


def log_metrics(root: Module) -> dict[str, Any]:
    """The log-based metrics of infra/, by the metric type their name gives, with their kinds."""
    known = {}
    for key, name in METRIC_NAMES.items():
        body = root.resource("google_logging_metric", key)
        assert body["name"] == "${var.name}/" + key, "the test's names follow the module's"
        (descriptor,) = body["metric_descriptor"]
        labels = {label["key"] for label in descriptor.get("labels", [])}
        assert labels == set(body.get("label_extractors", {})), f"{key}: labels vs extractors"
        known[f"logging.googleapis.com/user/{name}"] = metric(
            descriptor["metric_kind"],
            descriptor["value_type"],
            "cloud_run_revision",
            CLOUD_RUN_LABELS,
            labels,
        )
    return known


@pytest.fixture(scope="module")
def dashboard(
    tmp_path_factory: pytest.TempPathFactory, terraform_binary: str, terraform_env: dict[str, str]
) -> dict[str, Any]:
    tmp_path: Path = tmp_path_factory.mktemp("dashboard")
    tf = offline_root(tmp_path, "dashboard", MAIN_TF, terraform_binary, terraform_env)
    out = tf.apply({})
    assert json.loads(out["dashboard_json"]) == out["dashboard"]
    result: dict[str, Any] = out["dashboard"]
    return result


def datasets(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for tile in dashboard["mosaicLayout"]["tiles"]:
        chart = tile["widget"].get("xyChart")
        for ds in (chart or {}).get("dataSets", []):
            found.append((tile["widget"]["title"], ds["timeSeriesQuery"]["timeSeriesFilter"]))
    return found


def label_refs(text: str) -> list[tuple[str, str]]:
    return re.findall(r"\b(metric|resource)\.labels?\.(\w+)", text)


def test_every_query_is_valid_for_its_metrics_kind(dashboard: dict[str, Any], root: Module) -> None:
    known = {**BUILTIN, **log_metrics(root)}
    found = datasets(dashboard)
    assert len(found) >= 8 * len(PROJECTS)
    for title, query in found:
        types = re.findall(r'metric\.type\s*=\s*"([^"]+)"', query["filter"])
        assert len(types) == 1, f"{title}: a filter names exactly one metric type"
        m = known.get(types[0])
        assert m is not None, f"{title}: unknown metric {types[0]}"
        resource = re.findall(r'resource\.type\s*=\s*"([^"]+)"', query["filter"])
        assert resource in ([], [m["resource"]]), f"{title}: resource type {resource}"
        agg = query["aggregation"]
        assert int(agg["alignmentPeriod"].rstrip("s")) >= 60
        kinds, values, output = ALIGNERS[agg["perSeriesAligner"]]
        assert m["kind"] in kinds and m["value"] in values, (
            f"{title}: {agg['perSeriesAligner']} is not valid for {m['kind']} {m['value']}"
        )
        aligned = output or m["value"]
        reducer = agg.get("crossSeriesReducer", "REDUCE_NONE")
        assert reducer == "REDUCE_NONE" or aligned in REDUCERS[reducer], (
            f"{title}: {reducer} is not valid for aligned {aligned}"
        )
        refs = label_refs(query["filter"]) + [
            tuple(g.split(".label.")) for g in agg.get("groupByFields", [])
        ]
        for scope, label in refs:
            allowed = m["labels"] if scope == "metric" else m["resource_labels"]
            assert label in allowed, f"{title}: {scope} label {label} does not exist"


def test_every_guarded_project_has_its_tiles(dashboard: dict[str, Any]) -> None:
    titles = [t["widget"]["title"] for t in dashboard["mosaicLayout"]["tiles"]]
    for project, number in PROJECTS.items():
        mine = [t for t in titles if t.endswith(f"({project})")]
        assert len(mine) == 7, mine
        for title, query in datasets(dashboard):
            if title.endswith(f"({project})"):
                assert f'"{project}"' in query["filter"], title
                if "resource_container" in query["filter"]:
                    assert f'"{number}"' in query["filter"], title
    assert dashboard["displayName"] == "Budget Guard budget-guard"


def test_tiles_fit_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    layout = dashboard["mosaicLayout"]
    cells: set[tuple[int, int]] = set()
    for tile in layout["tiles"]:
        assert tile["xPos"] + tile["width"] <= layout["columns"]
        area = {
            (x, y)
            for x in range(tile["xPos"], tile["xPos"] + tile["width"])
            for y in range(tile["yPos"], tile["yPos"] + tile["height"])
        }
        assert not cells & area, tile["widget"]["title"]
        cells |= area


def test_root_feeds_the_module_its_own_log_metrics(root: Module) -> None:
    call = root.modules["dashboard"]
    assert call["source"] == "./modules/dashboard"
    for key, expr in call["metrics"].items():
        assert ref(expr) == f"google_logging_metric.{key}.name"
    assert set(call["metrics"]) == set(METRIC_NAMES)
    assert ref(call["period_seconds"]) == "var.watchdog_interval_minutes * 60"
    body = root.resource("google_monitoring_dashboard", "this")
    assert ref(body["dashboard_json"]) == "module.dashboard.dashboard_json"
