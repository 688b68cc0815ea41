"""The alert policies' and log-based metrics' filters against the lines the guard really writes.

The guard's lines come from a real in-process run (tests/infra/runs.py: handler, executor,
actions, ledger, over the stand-in); the usage watchdog's from a real run of its ticks (the
session's ``watchdog`` fixture: Monitoring over gRPC, the Firestore emulator). Filters are read
from infra/*.tf (python-hcl2), their ``${...}`` resolved from the variables' defaults and the
module's locals, and evaluated by tests/infra/logquery.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from standin import StandIn
from tests.infra.helpers import INFRA, Module, load_module, walk
from tests.infra.logquery import matches, parse
from tests.infra.runs import GUARD, PROJECT, STAGING_BUDGET, Run, guard_run

OUTCOMES = {"done", "noop", "would_run", "skipped", "failed", "retrying"}
ABSENCE_MIN_SECONDS, ABSENCE_MAX_SECONDS = 120, 84_600  # metric absence: 2 min to 23.5 h


# --- reading the filters ------------------------------------------------------------------------


def heredoc(text: str) -> str:
    """python-hcl2 keeps ``<<-EOT`` markers: return the heredoc's text, indentation stripped."""
    match = re.fullmatch(r"<<-?(\w+)\n(.*)\n\s*\1\s*", text, re.DOTALL)
    return textwrap.dedent(match.group(2)) + "\n" if match else text


class Resolver:
    """Resolves the ``${...}`` of a filter: var.X (defaults), local.X, trimspace(local.X), and
    each.value.X of one for_each instance."""

    def __init__(self, module: Module, each: dict[str, str] | None = None) -> None:
        self.module = module
        self.each = each or {}

    def instance(self, **each: str) -> Resolver:
        return Resolver(self.module, each)

    def expr(self, expr: str) -> str:
        if m := re.fullmatch(r"each\.value\.(\w+)", expr):
            return self.each[m.group(1)]
        if m := re.fullmatch(r"var\.(\w+)", expr):
            variable = self.module.variables[m.group(1)]
            return str(variable.get("default", f"<{m.group(1)}>"))
        if m := re.fullmatch(r"local\.(\w+)", expr):
            return self(self.module.locals[m.group(1)])
        if m := re.fullmatch(r"trimspace\(local\.(\w+)\)", expr):
            return self(self.module.locals[m.group(1)]).strip()
        raise AssertionError(f"the filter uses {expr!r}, which this test cannot resolve")

    def __call__(self, text: str) -> str:
        text = heredoc(text)
        resolved = re.sub(r"(?<!\$)\$\{([^{}]+)\}", lambda m: self.expr(m.group(1)), text)
        return resolved.replace("$${", "${")


@pytest.fixture(scope="module")
def resolve(root: Module) -> Resolver:
    return Resolver(root)


def log_condition(root: Module, policy: str) -> dict[str, Any]:
    body = root.resource("google_monitoring_alert_policy", policy)
    (condition,) = body["conditions"]
    (matched,) = condition["condition_matched_log"]
    assert isinstance(matched, dict)
    return matched


def extracted(extractor: str) -> str:
    m = re.fullmatch(r"EXTRACT\((jsonPayload(?:\.\w+)+)\)", extractor)
    assert m, f"unsupported extractor {extractor!r}"
    return m.group(1)


def field(entry: dict[str, Any], path: str) -> Any:
    node: Any = entry
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def unwrap(expr: str) -> str:
    """``"${expr}"`` (python-hcl2's rendering of an expression) -> ``expr``."""
    assert expr.startswith("${") and expr.endswith("}"), expr
    return expr[2:-1]


def terraform_apply(
    cwd: Path, binary: str, env: dict[str, str], **variables: Any
) -> subprocess.CompletedProcess[str]:
    """``terraform init`` and ``apply`` an offline root with ``variables`` (as tfvars JSON)."""
    (cwd / "test.auto.tfvars.json").write_text(json.dumps(variables), encoding="utf-8")
    proc = subprocess.CompletedProcess[str]([], 0, "", "")
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        proc = subprocess.run(
            [binary, *args, "-no-color"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            break
    return proc


def terraform_outputs(cwd: Path, binary: str, env: dict[str, str], **variables: Any) -> Any:
    """The outputs' values of an offline root, applied first when ``variables`` are given."""
    if variables:
        proc = terraform_apply(cwd, binary, env, **variables)
        assert proc.returncode == 0, proc.stderr + proc.stdout
    out = subprocess.run(
        [binary, "output", "-json", "-no-color"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return {k: v["value"] for k, v in json.loads(out).items()}


def matched(filter_text: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if matches(filter_text, e)]


@pytest.fixture
def run(guard_env: StandIn) -> Run:
    return guard_run(guard_env)


def as_guard(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same lines as if the guard's own service had written them."""
    labels = {"service_name": GUARD}
    return [{**e, "resource": {**e["resource"], "labels": labels}} for e in entries]


# --- every filter is in the evaluated subset ----------------------------------------------------


def filters(root: Module) -> dict[str, str]:
    found = {}
    for (rtype, name), body in root.resources.items():
        for path, value in walk(body):
            if path.endswith("condition_matched_log[0].filter") or (
                rtype == "google_logging_metric" and path == "filter"
            ):
                found[f"{rtype}.{name}.{path}"] = value
    return found


def test_every_log_filter_is_in_the_evaluated_subset(root: Module, resolve: Resolver) -> None:
    found = filters(root)
    assert len(found) >= 9, sorted(found)
    instance = resolve.instance(rule="warn", project="gemini-prod")  # for_each policies
    for where, text in found.items():
        parse(instance(text))  # raises QueryError outside the subset
        assert "${" not in instance(text), where


# --- crossings ----------------------------------------------------------------------------------


# One crossing policy per (rule, project) of the run's policy; "other-prod" never crosses.
PAIRS = [(r, p) for r in ("warn", "stop") for p in ("gemini-prod", "other-prod")]


def crossing_filters(root: Module, resolve: Resolver) -> dict[tuple[str, str], str]:
    text = log_condition(root, "crossing")["filter"]
    return {(r, p): resolve.instance(rule=r, project=p)(text) for r, p in PAIRS}


def test_one_crossing_policy_per_rule_and_project(
    tmp_path: Path, root: Module, terraform_binary: str, terraform_env: dict[str, str]
) -> None:
    body = root.resource("google_monitoring_alert_policy", "crossing")
    assert body["for_each"] == "${local.crossing_alerts}"
    # The module's own expressions, evaluated offline for two budgets sharing a project.
    exprs = {k: unwrap(root.locals[k]) for k in ("budget_projects", "crossing_alerts")}
    main_tf = (
        'variable "rules" { type = any }\nvariable "budgets" { type = any }\nlocals {\n'
        + "".join(f"  {k} = {v}\n" for k, v in exprs.items())
        + '}\noutput "crossing_alerts" { value = local.crossing_alerts }\n'
    )
    (tmp_path / "main.tf").write_text(main_tf, encoding="utf-8")
    rules = [{"name": "warn"}, {"name": "stop"}]
    budgets = {"a": {"projects": ["p1", "p2"]}, "b": {"projects": ["p2", "p3"]}}
    out = terraform_outputs(tmp_path, terraform_binary, terraform_env, rules=rules, budgets=budgets)
    assert out["crossing_alerts"] == {
        f"{r}/{p}": {"rule": r, "project": p} for r in ("warn", "stop") for p in ("p1", "p2", "p3")
    }


def test_crossing_alerts_match_each_crossing_exactly_once(
    root: Module, resolve: Resolver, run: Run
) -> None:
    filters = crossing_filters(root, resolve)
    claims = run.lines("crossing claimed")
    for claim in claims:
        payload = claim["jsonPayload"]
        fired = [pair for pair, text in filters.items() if matches(text, claim)]
        assert fired == [(payload["rule"], payload["project"])], payload["crossing"]
    hits = [h for text in filters.values() for h in matched(text, run.entries)]
    # The run redelivers and resumes the failed crossing twice: still one line per crossing.
    assert len(run.lines("crossing claimed (resuming)")) == 2
    assert sorted(h["jsonPayload"]["crossing"] for h in hits) == sorted(
        r["crossing"] for r in run.records
    )
    assert len(run.records) == 4  # warn and stop, acting and in dry run
    assert {h["jsonPayload"]["dry_run"] for h in hits} == {True, False}
    assert not matched(filters[("warn", "other-prod")], run.entries)


def test_crossing_alert_labels_hold_what_the_notification_shows(
    root: Module, resolve: Resolver, run: Run
) -> None:
    condition = log_condition(root, "crossing")
    labels = condition["label_extractors"]
    assert {"rule", "project", "budget", "spend", "actions", "crossing"} <= set(labels)
    hits = [
        h for text in crossing_filters(root, resolve).values() for h in matched(text, run.entries)
    ]
    assert hits
    for hit in hits:
        values = {k: field(hit, extracted(v)) for k, v in labels.items()}
        assert all(v is not None and v != "" for v in values.values()), values
        assert values["project"] == "gemini-prod"
        assert values["spend"] == "1200.0"
        assert values["actions"] in ("notify", "notify, disable_billing, disable_service")
    doc = root.resource("google_monitoring_alert_policy", "crossing")["documentation"][0]
    content = resolve(doc["content"])
    for label in ("rule", "project", "actions", "reason"):
        assert "${log.extracted_label." + label + "}" in content
    assert "budget-guard restore --project ${log.extracted_label.project}" in content
    assert "budget-guard status" in content


def test_crossing_alerts_ignore_every_other_line(root: Module, resolve: Resolver, run: Run) -> None:
    others = [e for e in run.entries if e["jsonPayload"]["message"] != "crossing claimed"]
    assert others
    for text in crossing_filters(root, resolve).values():
        assert matched(text, others) == []


def test_crossing_alerts_catch_the_watchdogs_crossing_once(
    root: Module, resolve: Resolver, watchdog: Run
) -> None:
    text = log_condition(root, "crossing")["filter"]
    projects = (PROJECT, "shared-infra", "gemini-staging")  # the watchdog run's budgets
    filters = {p: resolve.instance(rule="leak", project=p)(text) for p in projects}
    (record,) = watchdog.records  # one burst, resumed on two more ticks for its failed brake
    assert record["source"] == "watchdog"
    assert len(watchdog.lines("crossing claimed (resuming)")) == 2
    hits = {p: matched(f, watchdog.entries) for p, f in filters.items()}
    assert [h["jsonPayload"]["crossing"] for h in hits[PROJECT]] == [record["crossing"]]
    assert hits["shared-infra"] == hits["gemini-staging"] == []
    (claim,) = hits[PROJECT]
    labels = log_condition(root, "crossing")["label_extractors"]
    values = {k: field(claim, extracted(v)) for k, v in labels.items()}
    assert all(v is not None and v != "" for v in values.values()), values
    assert values["actions"] == "notify, disable_service"
    # notify's WARNING tells the watchdog's crossing from a budget's; no policy counts it twice.
    (warning,) = [e for e in watchdog.entries if e["severity"] == "WARNING"]
    assert warning["jsonPayload"]["event"]["source"] == "watchdog"
    assert not any(matches(f, warning) for f in filters.values())


def test_crossing_alert_notifies_once_per_crossing(root: Module) -> None:
    body = root.resource("google_monitoring_alert_policy", "crossing")
    strategy = body["alert_strategy"][0]
    assert strategy["notification_rate_limit"][0]["period"] == (
        "${var.alert_notification_rate_limit_seconds}s"
    )
    assert log_condition(root, "crossing")["label_extractors"]["crossing"] == (
        "EXTRACT(jsonPayload.crossing)"
    )


# --- failures -----------------------------------------------------------------------------------


def test_error_alert_and_metric_match_the_error_lines(
    root: Module, resolve: Resolver, run: Run
) -> None:
    errors = [e for e in run.entries if e["severity"] == "ERROR"]
    assert errors
    condition = log_condition(root, "errors")
    assert matched(resolve(condition["filter"]), run.entries) == errors
    for hit in errors:
        assert all(field(hit, extracted(v)) for v in condition["label_extractors"].values())
    metric = root.resource("google_logging_metric", "errors")
    assert matched(resolve(metric["filter"]), run.entries) == errors


def test_error_alert_and_metric_catch_the_watchdogs_errors(
    root: Module, resolve: Resolver, watchdog: Run
) -> None:
    errors = [e for e in watchdog.entries if e["severity"] == "ERROR"]
    # A brake it failed to run (once per tick that resumed it), and a read Monitoring refused.
    failed = [e for e in errors if e["jsonPayload"].get("outcome") == "failed"]
    assert len(failed) == 3 and {e["jsonPayload"]["action"] for e in failed} == {"disable_service"}
    (refused,) = [e for e in errors if e["jsonPayload"]["message"].startswith("watchdog tick")]
    assert "roles/monitoring.viewer" in refused["jsonPayload"]["remedy"]
    condition = log_condition(root, "errors")
    assert matched(resolve(condition["filter"]), watchdog.entries) == errors
    for hit in failed:
        assert all(field(hit, extracted(v)) for v in condition["label_extractors"].values())
    metric = root.resource("google_logging_metric", "errors")
    assert matched(resolve(metric["filter"]), watchdog.entries) == errors


def test_actions_metric_counts_every_outcome_line(
    root: Module, resolve: Resolver, run: Run
) -> None:
    metric = root.resource("google_logging_metric", "actions")
    hits = matched(resolve(metric["filter"]), run.entries)
    outcome_lines = [e for e in run.entries if "outcome" in e["jsonPayload"]]
    assert hits == outcome_lines
    outcomes = {h["jsonPayload"]["outcome"] for h in hits}
    assert {"done", "failed", "would_run"} <= outcomes <= OUTCOMES
    for hit in hits:
        assert all(field(hit, extracted(v)) for v in metric["label_extractors"].values())
    # One outcome per action run: the notify line itself and the claim lines are not counted.
    assert not [h for h in hits if h["jsonPayload"]["message"].startswith("budget threshold")]


def test_actions_metric_counts_the_watchdogs_outcomes(
    root: Module, resolve: Resolver, watchdog: Run
) -> None:
    metric = root.resource("google_logging_metric", "actions")
    hits = matched(resolve(metric["filter"]), watchdog.entries)
    assert hits == [e for e in watchdog.entries if "outcome" in e["jsonPayload"]]
    assert [h["jsonPayload"]["outcome"] for h in hits] == ["done", "failed", "failed", "failed"]
    for hit in hits:
        assert all(field(hit, extracted(v)) for v in metric["label_extractors"].values())


def test_crossings_metric_is_the_crossing_alerts_filter(root: Module) -> None:
    metric = root.resource("google_logging_metric", "crossings")
    assert metric["filter"] == "${local.crossing_filter}"
    assert log_condition(root, "crossing")["filter"].startswith("${local.crossing_filter} AND ")


# --- heartbeat ----------------------------------------------------------------------------------


def test_budget_heartbeat_counts_each_judged_notification_once(
    root: Module, resolve: Resolver, run: Run, watchdog: Run
) -> None:
    metric = root.resource("google_logging_metric", "notifications_handled")
    hits = matched(resolve(metric["filter"]), run.entries)
    assert sorted(h["jsonPayload"]["message_id"] for h in hits) == sorted(run.deliveries)
    assert all(h["jsonPayload"]["budget"] for h in hits)
    # Rejected and foreign messages are noise on the topic, not a sign of life.
    assert not matched(resolve(metric["filter"]), watchdog.entries)


def test_watchdog_heartbeat_counts_ticks_of_the_watchdog_service(
    root: Module, resolve: Resolver, run: Run, watchdog: Run
) -> None:
    text = resolve(root.resource("google_logging_metric", "watchdog_ticks")["filter"])
    ticks = matched(text, watchdog.entries)
    # Four good ticks; the one Monitoring refused is no sign of life.
    assert [h["jsonPayload"]["message"] for h in ticks] == ["watchdog tick"] * 4
    assert len({h["jsonPayload"]["tick"] for h in ticks}) == 4
    assert matched(text, as_guard(watchdog.entries)) == []
    assert matched(text, run.entries) == []


def test_watchdog_estimate_metrics_read_the_real_fields(
    root: Module, resolve: Resolver, watchdog: Run
) -> None:
    lines = watchdog.lines("watchdog estimate")
    assert len(lines) == 4 * 3  # every good tick: one per (budget, project)
    assert {type(e["jsonPayload"]["estimate"]) for e in lines} == {float}
    with_amount = [e for e in lines if e["jsonPayload"]["budget"] != STAGING_BUDGET]
    assert {e["jsonPayload"]["budget_amount"] for e in with_amount} == {1000.0}
    for name, value_field, expected in [
        ("watchdog_estimate", "estimate", lines),
        ("watchdog_budget_amount", "budget_amount", with_amount),  # a null amount is left out
    ]:
        metric = root.resource("google_logging_metric", name)
        assert metric["value_extractor"] == f"EXTRACT(jsonPayload.{value_field})"
        hits = matched(resolve(metric["filter"]), watchdog.entries)
        assert hits == expected
        assert all(isinstance(field(h, extracted(metric["value_extractor"])), float) for h in hits)
        for hit in hits:
            assert all(field(hit, extracted(v)) for v in metric["label_extractors"].values())
        assert metric["metric_descriptor"][0]["value_type"] == "DISTRIBUTION"
        assert matched(resolve(metric["filter"]), as_guard(watchdog.entries)) == []


# --- heartbeat windows: absence conditions within Cloud Monitoring's limits --------------------


def absence(root: Module, policy: str) -> dict[str, Any]:
    (condition,) = root.resource("google_monitoring_alert_policy", policy)["conditions"]
    (absent,) = condition["condition_absent"]
    assert isinstance(absent, dict)
    return absent


@pytest.mark.parametrize(
    ("policy", "metric"),
    [("budget_heartbeat", "notifications_handled"), ("watchdog_heartbeat", "watchdog_ticks")],
)
def test_heartbeat_watches_its_metric_as_one_series(root: Module, policy: str, metric: str) -> None:
    absent = absence(root, policy)
    assert (
        f"logging.googleapis.com/user/${{google_logging_metric.{metric}.name}}"
        in (absent["filter"])
    )
    descriptor = root.resource("google_logging_metric", metric)["metric_descriptor"][0]
    assert (descriptor["metric_kind"], descriptor["value_type"]) == ("DELTA", "INT64")
    (agg,) = absent["aggregations"]
    # DELTA INT64: ALIGN_SUM is valid; REDUCE_SUM without groupBy folds revisions into one series.
    assert agg["per_series_aligner"] == "ALIGN_SUM"
    assert agg["cross_series_reducer"] == "REDUCE_SUM" and "group_by_fields" not in agg
    assert int(agg["alignment_period"].rstrip("s")) >= 60


VARIABLES = (
    "heartbeat_budget_hours",
    "heartbeat_watchdog_missed_ticks",
    "watchdog_interval_minutes",
)


def variable_blocks(names: tuple[str, ...]) -> str:
    """The named ``variable`` blocks of infra/variables.tf, verbatim (brace-matched)."""
    text = (INFRA / "variables.tf").read_text(encoding="utf-8")
    out = []
    for name in names:
        start = text.index(f'variable "{name}" {{')
        depth, i = 0, text.index("{", start)
        while True:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        out.append(text[start : i + 1])
    return "\n\n".join(out)


def window_root(tmp_path: Path, root: Module) -> str:
    """An offline root with the heartbeat variables and the windows' expressions of alerts.tf."""
    exprs = {k: root.locals[k] for k in ("heartbeat_budget_seconds", "heartbeat_watchdog_seconds")}
    outputs = "\n".join(
        f'output "{k}" {{ value = {v.removeprefix("${").removesuffix("}")} }}'
        for k, v in exprs.items()
    )
    main_tf = variable_blocks(VARIABLES) + "\n\n" + outputs + "\n"
    (tmp_path / "main.tf").write_text(main_tf, encoding="utf-8")
    return main_tf


@pytest.mark.parametrize(
    ("values", "accepted"),
    [
        ({}, True),
        ({"heartbeat_budget_hours": 23}, True),
        ({"heartbeat_budget_hours": 24}, False),
        ({"heartbeat_budget_hours": 0}, False),
        ({"heartbeat_budget_hours": 1.5}, False),
        ({"heartbeat_watchdog_missed_ticks": 1, "watchdog_interval_minutes": 1}, False),  # 60 s
        ({"heartbeat_watchdog_missed_ticks": 2, "watchdog_interval_minutes": 1}, True),
        ({"heartbeat_watchdog_missed_ticks": 282, "watchdog_interval_minutes": 5}, True),  # 23.5 h
        ({"heartbeat_watchdog_missed_ticks": 283, "watchdog_interval_minutes": 5}, False),
        ({"watchdog_interval_minutes": 0}, False),
    ],
)
def test_heartbeat_windows_stay_within_the_metric_absence_limits(
    tmp_path: Path,
    root: Module,
    terraform_binary: str,
    terraform_env: dict[str, str],
    values: dict[str, int | float],
    accepted: bool,
) -> None:
    window_root(tmp_path, root)
    proc = terraform_apply(tmp_path, terraform_binary, terraform_env, **values)
    assert (proc.returncode == 0) is accepted, proc.stderr + proc.stdout
    if accepted:
        for seconds in terraform_outputs(tmp_path, terraform_binary, terraform_env).values():
            assert ABSENCE_MIN_SECONDS <= seconds <= ABSENCE_MAX_SECONDS and seconds % 60 == 0


def test_heartbeat_durations_are_those_windows(root: Module) -> None:
    assert absence(root, "budget_heartbeat")["duration"] == "${local.heartbeat_budget_seconds}s"
    assert absence(root, "watchdog_heartbeat")["duration"] == "${local.heartbeat_watchdog_seconds}s"


# --- channels -----------------------------------------------------------------------------------


def test_every_alert_goes_to_the_channels_input_and_none_is_created() -> None:
    # The module and its submodules; a caller (examples/basic) makes channels and passes them in.
    for path in [INFRA, *sorted(p for p in (INFRA / "modules").iterdir() if p.is_dir())]:
        module = load_module(path)
        assert not module.of_type("google_monitoring_notification_channel"), path
        for name, body in module.of_type("google_monitoring_alert_policy").items():
            assert body["notification_channels"] == "${var.notification_channels}", name
            assert body["documentation"][0]["mime_type"] == "text/markdown", name
    root = load_module(INFRA)
    assert len(root.of_type("google_monitoring_alert_policy")) >= 5
    assert root.variables["notification_channels"]["default"] == []
