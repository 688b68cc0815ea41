"""``budget-guard restore`` after ``throttle``: the quotas go back to the recorded values, or the
operator is told plainly which increase Google has not granted yet and what to do.

Real handler and executor, Firestore emulator ledger, google-cloud-quotas against the stand-in.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from functions.cli import main
from functions.handler import Guard
from functions.ledger.firestore import FirestoreLedger
from functions.log import Logger
from functions.policy import parse_policy
from standin import StandIn
from tests.sample import event
from tests.test_quotas_throttle import IMAGE, PROJECT, RPD, RPM, throttle_doc

pytestmark = pytest.mark.usefixtures("guard_env")


@pytest.fixture
def throttled(
    standin: StandIn,
    firestore_emulator: Any,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> tuple[str, dict[str, dict[str, int]]]:
    """Throttle gemini-prod once; (policy file, the quotas before)."""
    doc = throttle_doc(unique_name("restore"))
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(doc))
    policy = parse_policy(doc)
    before = standin.quotas(PROJECT)
    guard = Guard(policy, lambda: FirestoreLedger(policy.ledger), Logger(stream=io.StringIO()))
    guard.handle(event(1200, message_id="m-1"))
    assert standin.quotas(PROJECT)[RPM]["gemini-2.5-pro"] == 1
    return str(path), before


def _restore(capsys: pytest.CaptureFixture[str], policy: str, *extra: str) -> tuple[int, str]:
    code = main(["restore", "--project", PROJECT, "--policy", policy, "--yes", *extra])
    return code, capsys.readouterr().out


def test_restore_reports_pending_increases_then_finds_them_granted(
    throttled: tuple[str, dict[str, dict[str, int]]],
    standin: StandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy, before = throttled

    code, out = _restore(capsys, policy)

    assert code == 0
    pend = [line for line in out.splitlines() if line.startswith("PEND")]
    assert len(pend) == 8
    assert any(
        f"{RPD}/{IMAGE}" in line
        and "pending at Google: 10 is in force until the increase to 250 is granted" in line
        for line in pend
    ), pend
    assert "8 quota increase(s) pending at Google" in out and "Fix: wait" in out
    assert standin.quotas(PROJECT)[RPM]["gemini-2.5-pro"] == 1  # nothing granted yet

    code, out = _restore(capsys, policy, "--json")  # still pending: asked once, not again
    doc = json.loads(out)
    assert len(doc["pending"]) == 8
    patches = standin.calls("cloudquotas.projects.locations.quotaPreferences.patch")
    assert len(patches) == 8  # the second run read the pending preferences, patched nothing

    standin.grant_quota_increases(PROJECT)  # a reviewer approves
    code, out = _restore(capsys, policy)

    assert code == 0 and "PEND" not in out
    assert out.count("OK    raise quota") == 8, out
    assert standin.quotas(PROJECT) == before


def test_restore_when_google_grants_at_once(
    throttled: tuple[str, dict[str, dict[str, int]]],
    standin: StandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy, before = throttled
    with standin.world.lock:
        standin.world.quotas[PROJECT].increases = "granted"

    code, out = _restore(capsys, policy)

    assert code == 0
    assert out.count("DONE  raise quota") == 8, out
    assert f"DONE  raise quota {RPM}/gemini-2.5-pro back to 150" in out
    assert standin.quotas(PROJECT) == before
    assert "gemini-prod restored" in out
