"""Hostile input through a real functions-framework server: every case of the corpus is
acknowledged (2xx), logged once with its precise reason, and never acted on (no Google API call,
no ledger record), in bounded time and memory."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from standin.server import StandIn
from tests.reliability import worlds
from tests.reliability.harness import (
    GuardProcess,
    cloud_event_request,
    ledger_records,
    post,
    push_request,
    record_figures,
)
from tests.reliability.hostile_cases import CASES, FRAMEWORK_REFUSALS, Case
from tests.reliability.secrets_scan import Evidence

# Generous bounds: a rejection takes milliseconds (the 10 MB case about half a second).
MAX_SECONDS = 5.0
MAX_GROWTH_MIB = 256

PARAMS = [pytest.param(case, "ce", id=f"{case.name}-ce") for case in CASES] + [
    pytest.param(case, "push", id=f"{case.name}-push") for case in CASES if case.carried_by_push()
]
_seen: dict[str, Any] = {"deliveries": 0, "slowest": 0.0, "names": set()}


@pytest.fixture(scope="module")
def hostile(
    start_guards: Callable[..., list[GuardProcess]], rel_standin: StandIn, evidence: Evidence
) -> Iterator[tuple[GuardProcess, StandIn, str, dict[str, int]]]:
    database = worlds.unique("hostile")
    (guard,) = start_guards(worlds.policy(database))
    rel_standin.set_state(worlds.demo_seed())
    # Warm up (first-request imports), so the memory baseline is the server at rest.
    warm = worlds.alert(10).message("warm-up")
    assert post(guard.url, cloud_event_request(warm)).status == 200
    baseline = guard.memory_kib()
    yield guard, rel_standin, database, baseline
    evidence.add_world(rel_standin.state)


def test_corpus_is_large_and_named() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)) >= 60
    assert {case.kind for case in CASES} == {"malformed", "spoofed"}


@pytest.mark.parametrize(("case", "via"), PARAMS)
def test_hostile_message_is_acknowledged_logged_once_and_never_acted_on(
    hostile: tuple[GuardProcess, StandIn, str, dict[str, int]], case: Case, via: str
) -> None:
    guard, standin, database, _ = hostile
    if case.body is not None:
        request = cloud_event_request(None, body=case.body, ce_id="hostile-envelope")
    elif via == "ce":
        request = cloud_event_request(case.message(), ce_type=case.ce_type)
    else:
        request = push_request(case.message())
    guard.mark()

    answer = post(guard.url, request, timeout=60)

    lines = guard.new_lines()
    assert answer.status is not None and 200 <= answer.status < 300, (answer, lines)
    assert answer.seconds < MAX_SECONDS
    assert len(lines) == 1, lines  # one line: no injected line, no traceback, no second log
    line = json.loads(lines[0])
    assert line["severity"] == "WARNING"
    assert line["rejected"] == case.kind
    assert case.reason in line["reason"], line["reason"]
    assert line["message"] == f"{case.kind} message ignored: {line['reason']}"
    assert standin.calls() == [], "a Google API was called"
    assert ledger_records(database) == [], "the ledger was written"
    _seen["deliveries"] += 1
    _seen["slowest"] = max(_seen["slowest"], answer.seconds)
    _seen["names"].add(case.name)


@pytest.mark.parametrize(
    ("name", "via", "body", "status"), FRAMEWORK_REFUSALS, ids=[r[0] for r in FRAMEWORK_REFUSALS]
)
def test_what_functions_framework_refuses_before_the_guard_runs(
    hostile: tuple[GuardProcess, StandIn, str, dict[str, int]],
    name: str,
    via: str,
    body: Callable[[], bytes],
    status: int,
) -> None:
    """Documented limitation: these never reach the guard (no log line of ours, no action).
    Neither Pub/Sub nor Eventarc builds such a request: they write the envelope themselves."""
    guard, standin, database, _ = hostile
    request = (
        push_request(None, body=body()) if via == "push" else cloud_event_request(None, body=body())
    )
    guard.mark()
    answer = post(guard.url, request)
    assert answer.status == status
    ours = [line for line in guard.new_lines() if '"component": "budget-guard"' in line]
    assert ours == []
    assert standin.calls() == [] and ledger_records(database) == []


def test_memory_stayed_bounded(hostile: tuple[GuardProcess, StandIn, str, dict[str, int]]) -> None:
    guard, _, _, baseline = hostile
    after = guard.memory_kib()
    growth_mib = (after["VmHWM"] - baseline["VmHWM"]) / 1024
    assert growth_mib < MAX_GROWTH_MIB, (baseline, after)
    record_figures(
        "hostile",
        command="pytest tests/reliability/test_hostile.py",
        cases=len(CASES),
        cases_exercised=len(_seen["names"]),
        deliveries=_seen["deliveries"],
        via_cloudevent=len(CASES),
        via_push=sum(1 for case in CASES if case.carried_by_push()),
        framework_refusals=len(FRAMEWORK_REFUSALS),
        slowest_seconds=round(_seen["slowest"], 3),
        peak_rss_growth_mib=round(growth_mib, 1),
        rss_mib_after=round(after["VmRSS"] / 1024, 1),
        actions_taken=0,
    )
