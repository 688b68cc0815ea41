"""Fencing: a holder whose lease lapsed and was taken over can no longer write, and stops.

On both backends: the in-memory one, and the Firestore one on the Firestore emulator (the real
client, its update-time preconditions). A's lease lapses, B takes over and records progress; A's
late save and release fail with LeaseLost and change nothing; B's progress and lease are intact;
a third claim while B holds the lease is busy; an operator's note during B's lease does not fence
B out and survives B's next save.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from functions.actions import Context, Outcome
from functions.decision import Firing, decide
from functions.errors import CrossingBusy, LeaseLost, TransientError
from functions.ledger import LEASE_SECONDS, Ledger
from functions.ledger.memory import MemoryLedger
from functions.notification import parse
from tests.sample import ACCOUNT, alert
from tests.test_executor import REGISTRY, SCRIPT, Run, Script, fake


@pytest.fixture
def script() -> Script:
    SCRIPT.__init__()  # type: ignore[misc]
    return SCRIPT


@pytest.fixture(params=["memory", "firestore"])
def ledger(request: pytest.FixtureRequest, unique_name: Callable[[str], str]) -> Iterator[Ledger]:
    if request.param == "memory":
        yield MemoryLedger()
        return
    request.getfixturevalue("firestore_emulator")
    from functions.ledger.firestore import FirestoreLedger
    from functions.policy import LedgerConfig

    yield FirestoreLedger(LedgerConfig("demo-budget-guard", unique_name("fence")))


def _firing(run: Run) -> Firing:
    n = parse(alert(1200).message("m"), ACCOUNT, run.policy.budgets)
    return next(f for f in decide(n, run.policy) if f.rule.name == "stop")


def test_a_late_holder_is_fenced_out_and_the_new_holder_keeps_its_progress(
    ledger: Ledger,
) -> None:
    firing = _firing(Run(ledger))
    t0 = datetime.now(UTC)
    a = ledger.claim(firing, "a", t0)
    assert a is not None
    a.action("brake")["progress"] = {"step": "a started"}
    ledger.save(a, t0 + timedelta(seconds=1))  # while A holds the lease: fine

    later = t0 + timedelta(seconds=LEASE_SECONDS + 1)  # A's lease lapsed, A still running
    b = ledger.claim(firing, "b", later)
    assert b is not None and b.resumed
    b.action("brake").update(status="done", detail="done by b")
    ledger.save(b, later)

    a.action("brake").update(status="failed", detail="a's stale view")
    with pytest.raises(LeaseLost, match="taken over"):
        ledger.save(a, later + timedelta(seconds=1))
    with pytest.raises(LeaseLost):
        ledger.release(a, later + timedelta(seconds=2))

    record = ledger.get(firing.crossing.doc_id)
    assert record is not None
    assert record["lease_owner"] == b.owner and record["state"] == "open"
    assert record["actions"]["brake"]["status"] == "done", "B's progress is intact"
    assert record["lease_until"] == b.record["lease_until"]
    with pytest.raises(CrossingBusy):
        ledger.claim(firing, "c", later + timedelta(seconds=10))  # B still holds it

    # An operator's note (annotate: no lease) is not a take-over: B writes on and keeps it.
    ledger.annotate(b.doc_id, lambda r: r["history"].append({"at": "z", "what": "operator"}))
    ledger.release(b, later + timedelta(seconds=20))
    record = ledger.get(firing.crossing.doc_id)
    assert record is not None
    assert record["lease_owner"] is None and "operator" in [h["what"] for h in record["history"]]


def test_a_holder_that_loses_its_lease_mid_firing_stops_and_says_so_once(
    script: Script,
) -> None:
    ledger = MemoryLedger()
    run = Run(ledger)
    firing = _firing(run)

    class TakenOver(fake("brake")):  # type: ignore[misc, valid-type]
        """While this runs, A's lease lapses and B takes the crossing over."""

        def run(self, ctx: Context) -> Outcome:
            SCRIPT.calls.append(("stop", ctx.project, "brake"))
            if ctx.firing.crossing != firing.crossing:  # the other projects' firings run as usual
                return Outcome("done", "braked")
            future = datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS + 1)
            assert ledger.claim(firing, "b", future) is not None
            ctx.checkpoint()  # fenced: raises LeaseLost
            raise AssertionError("not reached")

    run.executor.registry = {**REGISTRY, "brake": TakenOver}
    with pytest.raises(TransientError, match="taken over"):
        run.deliver(1200, "a")
    lost = [line for line in run.logs() if "lease lost" in line["message"]]
    assert len(lost) == 1 and lost[0]["severity"] == "WARNING"
    assert ("stop", "gemini-prod", "last") not in script.calls, "A acts no more"
    record = ledger.get(firing.crossing.doc_id)
    assert record is not None and record["lease_owner"] not in (None, "")
    assert record["actions"]["brake"]["status"] == "pending", "A recorded nothing after the loss"


def test_the_claims_first_write_is_redacted_like_every_later_one() -> None:
    """A key string pasted into free text (a reason) never reaches the ledger, not even briefly."""
    from dataclasses import replace

    ledger = MemoryLedger()
    leaked = "AIza" + "x" * 35
    firing = replace(_firing(Run(ledger)), reason=f"spend after {leaked} was pasted")
    claim = ledger.claim(firing, "m")
    assert claim is not None
    stored = ledger.get(firing.crossing.doc_id)
    assert stored is not None and leaked not in repr(stored) and "[REDACTED]" in stored["reason"]
