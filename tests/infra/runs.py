"""Log lines for the alert tests: a real run of the guard, as Cloud Logging would store them.

``guard_run`` drives the in-process guard (real handler, decision, executor, actions and memory
ledger) against the stand-in through a day of deliveries: a quiet notification, a crossing with a
brake that works and one that fails, a redelivery, a duplicate, a malformed, a spoofed and a
foreign message, then the same crossing under a dry-run policy. Every stdout line it writes is
wrapped in the LogEntry Cloud Run would make of it.

``watchdog_contract_lines`` is NOT output of the usage watchdog (not merged yet): it writes, with
the real ``functions.log.Logger``, exactly the fields of the watchdog's log contract (issue 10),
so the watchdog's metrics can be tested now; switch it to the watchdog's real output after the
merge.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

from functions.actions.billing import DisableBilling
from functions.alerts import cloud_event
from functions.errors import TransientError
from functions.handler import Guard
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.policy import parse_policy
from standin import StandIn
from tests.infra.logquery import log_entry
from tests.sample import event, policy_doc

__all__ = ["GUARD", "WATCHDOG", "Run", "guard_run", "watchdog_contract_lines"]

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


def watchdog_contract_lines() -> list[dict[str, Any]]:
    """The watchdog's contract lines (see the module docstring), as its service's LogEntries."""
    stream = io.StringIO()
    log = Logger({"component": "budget-guard"}, stream)
    log.info("watchdog tick", tick="2026-11-20T10:05:00Z", projects=1, minutes_read=5)
    budget = "de72f49d-779b-4945-a127-4d6ce8def0bb"
    log.info(
        "watchdog estimate",
        budget=budget,
        project=PROJECT,
        estimate=412.37,
        budget_amount=1000,
        currency="USD",
    )
    log.info(
        "watchdog estimate",
        budget=budget,
        project="gemini-dev",
        estimate=3.5,
        budget_amount=None,
        currency="USD",
    )
    return [log_entry(json.loads(line), WATCHDOG) for line in stream.getvalue().splitlines()]
