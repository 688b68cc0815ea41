"""disable_service against the stand-in, through the real handler, executor and ledger.

The guarded project grants exactly the permissions the rule's actions declare.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from functions.actions.billing import DisableBilling
from functions.actions.service import DisableService
from functions.errors import TransientError
from functions.handler import Guard
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.policy import GEMINI_SERVICE, parse_policy
from standin import StandIn
from tests.sample import event, policy_doc

PROJECT = "gemini-prod"
VERTEX = "aiplatform.googleapis.com"  # the demo seed blocks disabling it: live endpoints
DISABLE = "serviceusage.services.disable"


pytestmark = pytest.mark.usefixtures("guard_env")


class Run:
    """A guard with one rule over the stand-in, its memory ledger and its captured log."""

    def __init__(self, standin: StandIn, actions: list[str], **policy: Any) -> None:
        self.standin = standin
        self.stream = io.StringIO()
        self.ledger = MemoryLedger()
        rules = [{"name": "stop", "threshold": 1.0, "basis": "actual", "actions": actions}]
        doc = policy_doc(rules=rules, **policy)
        self.guard = Guard(parse_policy(doc), lambda: self.ledger, Logger(stream=self.stream))
        permissions = set().union(*(a.permissions for a in (DisableService, DisableBilling)))
        with standin.world.lock:
            standin.world.projects[PROJECT].granted_permissions = sorted(permissions)

    def deliver(self, message_id: str = "m-1") -> list[dict[str, Any]]:
        return self.guard.handle(event(1200, message_id=message_id))

    def action(self, name: str) -> dict[str, Any]:
        (record,) = self.ledger.records(rule="stop")
        entry: dict[str, Any] = record["actions"][name]
        return entry

    def services(self) -> dict[str, str]:
        return dict(self.standin.state["projects"][PROJECT]["services"])

    def logs(self, severity: str) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.stream.getvalue().splitlines()]
        return [line for line in lines if line["severity"] == severity]


def test_disables_the_gemini_api_once(standin: StandIn) -> None:
    run = Run(standin, ["disable_service"])

    run.deliver("m-1")
    run.deliver("m-2")

    services = run.services()
    assert services[GEMINI_SERVICE] == "DISABLED"
    assert services[VERTEX] == services["maps-backend.googleapis.com"] == "ENABLED"
    entry = run.action("disable_service")
    assert entry["status"] == "done"
    assert entry["progress"] == {"disabled": [GEMINI_SERVICE]}
    assert len(standin.calls(DISABLE)) == 1
    assert run.logs("ERROR") == []


def test_already_disabled_is_nothing_to_do(standin: StandIn) -> None:
    with standin.world.lock:
        standin.world.projects[PROJECT].services[GEMINI_SERVICE] = "DISABLED"
    run = Run(standin, ["disable_service"])

    run.deliver()

    entry = run.action("disable_service")
    assert entry["status"] == "noop"
    assert entry["progress"] == {"disabled": []}
    assert standin.calls(DISABLE) == []


def test_refusal_is_an_error_recorded_and_the_next_brake_still_runs(standin: StandIn) -> None:
    run = Run(standin, ["disable_service", "disable_billing"], services=[VERTEX, GEMINI_SERVICE])

    run.deliver()  # ActionFailed is recorded and logged, not raised

    services = run.services()
    assert services[VERTEX] == "ENABLED"
    assert services[GEMINI_SERVICE] == "DISABLED"  # the services after the refused one are tried
    entry = run.action("disable_service")
    assert entry["status"] == "failed"
    assert VERTEX in entry["detail"] and "active resources" in entry["detail"]
    assert entry["progress"] == {"disabled": [GEMINI_SERVICE]}
    (error,) = run.logs("ERROR")
    assert error["action"] == "disable_service"
    assert VERTEX in error["message"] and "2 deployed Vertex AI endpoints" in error["message"]
    assert "dependent" in error["remedy"]
    assert run.action("disable_billing")["status"] == "done"
    assert standin.state["projects"][PROJECT]["billing_account"] == ""


def test_transient_failure_is_retried_then_redelivered(standin: StandIn) -> None:
    standin.add_fault(DISABLE, "503", calls=[1])  # retried inside the call: no redelivery needed
    run = Run(standin, ["disable_service"])
    run.deliver()
    assert run.action("disable_service")["status"] == "done"

    standin.set_state(None)
    standin.add_fault(DISABLE, "503")  # for the whole delivery: Pub/Sub must redeliver
    run = Run(standin, ["disable_service"])
    with pytest.raises(TransientError):
        run.deliver("m-1")
    assert run.action("disable_service")["status"] == "retrying"
    standin.clear_faults()
    run.deliver("m-1")
    assert run.action("disable_service")["status"] == "done"
    assert run.services()[GEMINI_SERVICE] == "DISABLED"
