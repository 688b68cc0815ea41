"""A restore is never undone within its period, ledger or not.

A real guard process, its ledger behind a fault-injecting TCP proxy; ``budget-guard restore`` run
in this process (the operator's CLI) against the same Firestore emulator and stand-in:

1. the guard brakes gemini-prod (ledger up);
2. the operator restores it: billing linked again, the Gemini API enabled, and the project
   labelled ``budget-guard-restored=<period>`` (Resource Manager v3 ``projects.patch``);
3. the ledger goes unreachable and more spend is notified in the same period: the guard reads the
   label (``projects.get``), runs no brake, says so, and asks for a redelivery (500). Before the
   marker, this delivery unlinked billing again (``ran=['disable_billing: done ...']``);
4. the label unreadable (Resource Manager answering 503) with the ledger still down: no brake
   either (the safe side: a restore must never be undone), one ERROR saying why;
5. the next period, ledger still down: the brakes run without the ledger, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from functions import gcp
from functions.cli import main as cli
from standin.server import StandIn
from tests.reliability import worlds
from tests.reliability.harness import (
    Delivery,
    GuardProcess,
    cloud_event_request,
    deliver_until_acked,
    post,
)
from tests.reliability.proxy import FaultProxy

PERIOD = "2026-11-01T07:00:00Z"
NEXT_PERIOD = "2026-12-01T08:00:00Z"
LABEL = {"budget-guard-restored": "20261101t070000z"}
RM_GET = "cloudresourcemanager.projects.get"


@pytest.fixture(scope="module")
def proxy(emulators: dict[str, Any]) -> Iterator[FaultProxy]:
    with FaultProxy(emulators["firestore"].port) as running:
        yield running


def _message(n: int, period: str = PERIOD) -> dict[str, Any]:
    published = period.replace("-01T", "-20T").replace("Z", ".000Z")
    return worlds.alert(1200 + 50 * n, period=period, alert_threshold=1.0).message(
        f"restore-marker-{n}", published
    )


def _deliver(guard: GuardProcess, msg: dict[str, Any]) -> tuple[int | None, list[dict[str, Any]]]:
    guard.mark()
    answer = post(guard.url, cloud_event_request(msg), timeout=60)
    return answer.status, [json.loads(x) for x in guard.new_lines() if x.startswith("{")]


def test_a_restore_is_not_undone_while_the_ledger_is_unreachable(
    proxy: FaultProxy,
    world: Callable[..., StandIn],
    start_guards: Callable[..., list[GuardProcess]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    standin = world(worlds.demo_seed())
    proxy.set_mode("pass")
    database = worlds.unique("restored")
    policy = worlds.policy(database)  # notify, rotate_keys, disable_service, disable_billing
    (guard,) = start_guards(
        policy, FIRESTORE_EMULATOR_HOST=proxy.host, BUDGET_GUARD_LEDGER_TIMEOUT="2"
    )

    # 1. The crossing, ledger up: braked.
    deliver_until_acked([guard.url], Delivery(_message(0)))
    prod = standin.state["projects"]["gemini-prod"]
    assert prod["billing_account"] == "" and prod["services"][worlds.GEMINI] == "DISABLED"

    # 2. The operator restores (the CLI talks to the emulator directly, not through the proxy).
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    monkeypatch.setenv(gcp.ENV_ENDPOINT, standin.url)
    gcp.reset()
    try:
        code = cli(["restore", "--policy", str(path), "--project", "gemini-prod", "--yes"])
    finally:
        monkeypatch.undo()
        gcp.reset()
    assert code == 0
    restored = standin.state["projects"]["gemini-prod"]
    assert restored["billing_account"] == f"billingAccounts/{worlds.ACCOUNT}"
    assert restored["services"][worlds.GEMINI] == "ENABLED"
    assert restored["labels"] == LABEL
    keys_before = len(restored["keys"])

    # 3. Ledger unreachable, more spend in the same period: nothing undone.
    proxy.set_mode("reset")
    status, lines = _deliver(guard, _message(1))
    assert status == 500
    after = standin.state["projects"]["gemini-prod"]
    assert after["billing_account"] == restored["billing_account"], "the restore was undone"
    assert after["services"][worlds.GEMINI] == "ENABLED"
    assert len(after["keys"]) == keys_before, "no key made or deleted after the restore"
    said = [line for line in lines if "restored this project this period" in line["message"]]
    assert len(said) == 1 and said[0]["severity"] == "WARNING"
    assert standin.calls(RM_GET), "the marker was read"

    # 4. The marker unreadable as well: the safe side is no brake, and an ERROR saying why.
    standin.add_fault(RM_GET, "503")
    status, lines = _deliver(guard, _message(2))
    assert status == 500
    assert standin.state["projects"]["gemini-prod"]["billing_account"] != ""
    errors = [line for line in lines if "restore marker unreadable" in line["message"]]
    assert len(errors) == 1 and errors[0]["severity"] == "ERROR"
    standin.clear_faults()

    # 5. The next period is a new crossing: the ledger-less brakes run again.
    status, lines = _deliver(guard, _message(3, NEXT_PERIOD))
    assert status == 500
    assert standin.state["projects"]["gemini-prod"]["billing_account"] == ""
    proxy.set_mode("pass")
