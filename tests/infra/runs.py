"""Log lines for the alert tests: a real run of the guard, as Cloud Logging would store them.

``guard_run`` drives the in-process guard (real handler, decision, executor, actions and memory
ledger) against the stand-in through a day of deliveries: a quiet notification, a crossing with a
brake that works and one that fails, a redelivery, a duplicate, a malformed, a spoofed and a
foreign message, then the same crossing under a dry-run policy. Every stdout line it writes is
wrapped in the LogEntry Cloud Run would make of it.

``watchdog_run`` drives the real usage watchdog (its tick handler, reader over gRPC, Firestore
buckets, state and ledger, the guard's executor) through five ticks; its lines are wrapped as the
LogEntries of the "<name>-watchdog" service.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from functions.actions.billing import DisableBilling
from functions.alerts import cloud_event
from functions.errors import TransientError
from functions.handler import Guard
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.policy import parse_policy
from functions.watchdog.tick import Watchdog
from standin import StandIn
from tests.infra.logquery import log_entry
from tests.sample import BUDGET, event, policy_doc
from tests.watchdog.world import HOST, OUT, PRO, T0, TOKENS_PER_DOLLAR
from tests.watchdog.world import policy_doc as watchdog_policy_doc

__all__ = ["GUARD", "PROJECT", "STAGING_BUDGET", "WATCHDOG", "Run", "guard_run", "watchdog_run"]

GUARD = "budget-guard"  # var.name's default: the guard's Cloud Run service
WATCHDOG = f"{GUARD}-watchdog"
PROJECT = "gemini-prod"
RULES = [
    {"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]},
    {
        "name": "stop",
        "threshold": 1.0,
        "basis": "actual",
        "actions": ["notify", "disable_billing", "disable_service"],
    },
]
# The watchdog's run: its own rule and budgets (the second without an amount).
LEAK = {
    "name": "leak",
    "basis": "rate",
    "window_minutes": 10,
    "amount": 100,
    "actions": ["notify", "disable_service"],
}
STAGING_BUDGET = "5b1e0c7a-93d2-4f4e-8a61-0c2f7d9e4b38"
WATCHDOG_BUDGETS = {
    BUDGET: {"projects": [PROJECT, "shared-infra"], "currency": "USD", "amount": 1000},
    STAGING_BUDGET: {"projects": ["gemini-staging"], "currency": "USD"},
}
INCIDENT = {"incident": {"incident_id": "0.abc", "state": "open", "policy_name": "p"}}


@dataclass
class Run:
    """What one scenario wrote, as LogEntries, and what its ledger holds."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[str] = field(default_factory=list)  # message ids of judged notifications

    def lines(self, message: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["jsonPayload"]["message"] == message]


def _deliver(guard: Guard, evt: Any) -> None:
    # A transient failure is raised for Pub/Sub to redeliver: its lines are kept all the same.
    with contextlib.suppress(TransientError):
        guard.handle(evt)


def _raw(data: bytes, attributes: dict[str, str], message_id: str) -> Any:
    return cloud_event(
        {
            "data": base64.b64encode(data).decode(),
            "attributes": attributes,
            "messageId": message_id,
            "publishTime": "2026-11-20T10:00:00Z",
        }
    )


def _guard(dry_run: bool) -> tuple[Guard, MemoryLedger, io.StringIO]:
    stream, ledger = io.StringIO(), MemoryLedger()
    doc = policy_doc(rules=RULES, dry_run=dry_run)
    return Guard(parse_policy(doc), lambda: ledger, Logger(stream=stream)), ledger, stream


def guard_run(standin: StandIn) -> Run:
    """The scenario above; ``standin`` is the fresh stand-in the guard's clients point at."""
    with standin.world.lock:  # billing can be unlinked; disabling the Gemini API is not granted
        standin.world.projects[PROJECT].granted_permissions = sorted(DisableBilling.permissions)
    run = Run()
    guard, ledger, stream = _guard(dry_run=False)
    spoof = event(1300, message_id="m-spoofed")
    spoof.data["message"]["attributes"]["billingAccountId"] = "000000-000000-000000"
    for message_id, evt in [
        ("m-quiet", event(100, message_id="m-quiet")),
        ("m-cross", event(1200, message_id="m-cross")),
        ("m-again", event(1250, message_id="m-again")),  # retries the failed brake
        ("m-dup", event(1300, message_id="m-dup")),
        (None, _raw(b"{not json", {}, "m-malformed")),
        (None, spoof),
        (None, _raw(json.dumps(INCIDENT).encode(), {}, "m-incident")),
    ]:
        _deliver(guard, evt)
        if message_id:
            run.deliveries.append(message_id)
    run.records = ledger.records()
    dry, dry_ledger, dry_stream = _guard(dry_run=True)
    _deliver(dry, event(1200, message_id="m-dry"))
    run.deliveries.append("m-dry")
    run.records += dry_ledger.records()
    for text in (stream.getvalue(), dry_stream.getvalue()):
        run.entries += [log_entry(json.loads(line), GUARD) for line in text.splitlines()]
    return run


def _burn(standin: StandIn, project: str, dollars_per_minute: float, minutes: int) -> None:
    """Output tokens of gemini-2.5-pro per minute from T0, the way Gemini writes them."""
    tokens = int(dollars_per_minute * TOKENS_PER_DOLLAR)
    standin.add_points(
        [
            {
                "metric": OUT,
                "project": project,
                "labels": {"model": PRO},
                "minute": (T0 + timedelta(minutes=i)).isoformat(),
                "value": tokens,
            }
            for i in range(minutes)
        ]
    )


def _tick(at: datetime) -> Any:
    """The Scheduler's tick as Eventarc delivers it: its publish time is the watchdog's now."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return cloud_event({"data": "", "messageId": f"tick-{stamp}", "publishTime": stamp})


def watchdog_run(standin: StandIn, database: str) -> Run:
    """A real run of the usage watchdog (``main.usage_watchdog``'s objects: the guard's policy
    and executor) over the stand-in's Monitoring (gRPC) and the Firestore emulator's ``database``:
    a leak on gemini-prod crosses the rate rule (notify works, disabling the Gemini API is not
    granted: an ERROR), a second budget has no amount, then Monitoring refuses a read for good.
    ``standin``'s clients must point at it already (guard and Monitoring endpoints)."""
    doc = watchdog_policy_doc([LEAK], database, budgets=WATCHDOG_BUDGETS)
    doc["watchdog"]["scope_project"] = HOST
    with standin.world.lock:
        standin.world.projects[PROJECT].granted_permissions = sorted(DisableBilling.permissions)
    standin.set_scope(HOST, [p for b in WATCHDOG_BUDGETS.values() for p in b["projects"]])
    _burn(standin, PROJECT, 30, 40)  # $30 a minute: past $100 in 10 minutes within two ticks
    _burn(standin, "gemini-staging", 0.5, 40)
    stream = io.StringIO()
    log = Logger(stream=stream)
    guard = Guard(parse_policy(doc), log=log)  # its Firestore ledger, as deployed
    watchdog = Watchdog(guard.policy, guard.executor, log=log)
    run = Run()
    for minute in (5, 10, 15, 20):
        standin.set_clock(T0 + timedelta(minutes=minute, seconds=2))
        with contextlib.suppress(TransientError):  # redelivered by Pub/Sub: lines kept
            watchdog.handle(_tick(T0 + timedelta(minutes=minute, seconds=2)))
    standin.add_fault("monitoring.projects.timeSeries.list", "403", calls=[1])
    standin.set_clock(T0 + timedelta(minutes=25, seconds=2))
    watchdog.handle(_tick(T0 + timedelta(minutes=25, seconds=2)))
    standin.clear_faults()
    standin.set_clock(None)
    run.records = guard.executor.ledger.records()
    run.entries = [log_entry(json.loads(line), WATCHDOG) for line in stream.getvalue().splitlines()]
    return run
