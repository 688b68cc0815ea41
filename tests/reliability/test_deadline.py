"""The invocation's deadline: a failing weak action never starves a strong brake.

8 projects under one budget cross 100 % at once; every API Keys call answers 503, and the guard
retries each call for up to the production default (60 s). With ``BUDGET_GUARD_DEADLINE_SECONDS``
= 30, the first delivery unlinks every project and answers (500: the rotations wait for a
redelivery) within the deadline. Before the deadline existed, the rotations ran one project after
another for 60 s each and no project was unlinked by the first delivery.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from standin.server import StandIn
from tests.reliability import worlds
from tests.reliability.harness import GuardProcess, cloud_event_request, post, record_figures

DEADLINE = 30.0
# What may follow the deadline: the request in flight (its timeout is bounded by the time left,
# but at least 0.5 s) and the ledger writes recording what is unfinished.
SLACK = 8.0
PROJECTS = 8
APIKEYS = [
    worlds.KEYS_LIST,
    worlds.KEYS_CREATE,
    worlds.KEYS_POLL,
    worlds.KEYS_GET,
    worlds.KEYS_STRING,
    worlds.KEYS_DELETE,
]


def test_keys_api_down_every_project_unlinked_within_the_deadline(
    world: Callable[..., StandIn],
    start_guards: Callable[..., list[GuardProcess]],
) -> None:
    seed = worlds.many_projects_seed(PROJECTS, "starve")
    projects = sorted(p for p in seed["projects"] if p.startswith("starve-"))
    standin = world(seed)
    database = worlds.unique("deadline")
    policy = worlds.policy(
        database,
        budgets={worlds.BUDGET: {"projects": projects, "currency": "USD"}},
        rules=[
            {
                "name": "stop",
                "threshold": 1.0,
                "basis": "actual",
                "actions": ["notify", "rotate_keys", "disable_service", "disable_billing"],
            }
        ],
        secret=None,
    )
    (guard,) = start_guards(
        policy,
        BUDGET_GUARD_DEADLINE_SECONDS=str(DEADLINE),
        BUDGET_GUARD_RETRY_DEADLINE="60",
        BUDGET_GUARD_RETRY_INITIAL="0.5",
        BUDGET_GUARD_TIMEOUT="20",
    )
    for method in APIKEYS:
        standin.add_fault(method, "503")
    msg = worlds.alert(1250, alert_threshold=1.0).message("deadline-1")

    guard.mark()
    answer = post(guard.url, cloud_event_request(msg), timeout=DEADLINE * 4)
    lines = [json.loads(x) for x in guard.new_lines() if x.startswith("{")]

    state = standin.state["projects"]
    linked = [p for p in projects if state[p]["billing_account"]]
    record_figures(
        "deadline (8 projects, API Keys 503)",
        first_delivery_seconds=round(answer.seconds, 1),
        deadline_seconds=DEADLINE,
        projects_unlinked=f"{PROJECTS - len(linked)} / {PROJECTS}",
    )
    assert linked == [], f"still linked after the first delivery: {linked}"
    assert answer.status == 500, "the rotations wait for a redelivery"
    assert answer.seconds < DEADLINE + SLACK, answer.seconds
    assert all(state[p]["services"][worlds.GEMINI] == "DISABLED" for p in projects)
    waiting = {
        line["project"]
        for line in lines
        if line.get("severity") == "ERROR" and line.get("action") == "rotate_keys"
    }
    assert waiting == set(projects), "each project's rotation says it will retry"
    assert len(standin.calls(worlds.KEYS_LIST)) >= PROJECTS, "every rotation was tried"
