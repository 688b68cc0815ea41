"""restore's key hooks (pure): audit-fix records become steps, a leaked key is never handed back
without --include-leaked, whichever brake deleted it."""

from __future__ import annotations

from typing import Any

from functions.cli import restore_keys
from functions.cli.restore import Step, plan_steps

KEY_A = "projects/1/locations/global/keys/a"
KEY_B = "projects/1/locations/global/keys/b"
KEY_C = "projects/1/locations/global/keys/c"


def _records() -> list[dict[str, Any]]:
    budget = {
        "crossing": "c1",
        "budget_id": "b",
        "period": "2026-11-01T07:00:00Z",
        "rule": "stop",
        "actions": {"revoke_keys": {"progress": {"deleted": [KEY_A, KEY_B]}}},
    }
    burst = {
        "crossing": "c4",
        "budget_id": "b",
        "period": "2026-11-01T07:00:00Z",
        "rule": "key-burst",
        "subject": "key:c",
        "actions": {
            "revoke_offending_keys": {"progress": {"deleted": [KEY_C], "already_deleted": [KEY_B]}}
        },
    }
    leak = {
        "crossing": "c2",
        "budget_id": "abuse-events",
        "period": "key:a",
        "rule": "leaked-key",
        "actions": {"revoke_leaked_key": {"progress": {"selected": [KEY_A], "deleted": [KEY_A]}}},
    }
    fix = {
        "crossing": "c3",
        "kind": "audit-fix",
        "fixes": [
            {"key": KEY_B, "action": "restrict", "previous": {}, "status": "done"},
            {"key": "projects/1/locations/global/keys/d", "action": "delete", "status": "failed"},
        ],
    }
    return [budget, leak, fix, burst]


def _plan(include_leaked: bool) -> list[Step]:
    every = _records()
    crossings = [r for r in every if restore_keys.is_crossing(r)]
    steps = plan_steps(crossings, include_rotated=False)
    steps += restore_keys.offending_steps(crossings, Step)
    steps += restore_keys.fix_steps(every, Step)
    steps += restore_keys.leak_steps(every, include_leaked, Step)
    restore_keys.hold_leaked(steps, restore_keys.leaked_keys(every), include_leaked)
    return steps


def test_only_budget_crossings_reach_the_period_logic() -> None:
    assert [r["crossing"] for r in _records() if restore_keys.is_crossing(r)] == ["c1", "c4"]


def test_a_leaked_key_stays_deleted_whichever_brake_deleted_it() -> None:
    runs = {(s.kind, s.target, s.action): s.run for s in _plan(include_leaked=False)}
    assert runs == {
        ("key", KEY_A, "revoke_keys"): False,  # deleted by the budget brake, then reported leaked
        ("key", KEY_B, "revoke_keys"): True,
        ("key", KEY_A, "revoke_leaked_key"): False,
        ("restrictions", KEY_B, "audit-fix"): True,  # only the fixes that were made
        ("key", KEY_C, "revoke_offending_keys"): True,  # not KEY_B: deleted before the firing
    }
    assert all(s.run for s in _plan(include_leaked=True))


def test_a_restored_fix_is_not_planned_again() -> None:
    every = _records()
    every[2]["restored_at"] = "2026-12-01T20:00:00Z"
    assert restore_keys.fix_steps(every, Step) == []
