"""``restore``'s key hooks: undo ``audit --fix``, and never hand back a leaked key unasked.

From the ledger records of the project:
  - ``revoke_offending_keys`` (a per-key rate rule) in the period's crossings: its
    ``progress.deleted`` keys are undeleted, as ``revoke_keys``'s are;
  - ``audit-fix`` records not restored yet (``functions.cli.audit``): each restricted key gets
    its previous restrictions back (``keys.patch``, ``updateMask=restrictions``), each deleted
    key is undeleted;
  - leaked-key records (``functions.leakhandler``): the key Google reported leaked is left
    deleted unless ``--include-leaked``; so is any other step that would undelete that key
    (a key ``revoke_keys`` or ``audit --fix`` deleted and an abuse event then named).
Neither kind of record has a budget period: ``is_crossing`` tells the budget crossings apart.
"""

from __future__ import annotations

from typing import Any

from functions.actions import keys_api
from functions.cli.common import doc_id
from functions.leakhandler import is_leak_record

__all__ = [
    "FIX_KIND",
    "fix_records",
    "fix_steps",
    "hold_leaked",
    "is_crossing",
    "leak_records",
    "leak_steps",
    "leaked_keys",
    "offending_steps",
    "restrictions",
]

FIX_KIND = "audit-fix"
LEAK_NOTE = "named in a LEAKED_CREDENTIALS abuse event: left deleted; --include-leaked undeletes it"


def is_crossing(record: dict[str, Any]) -> bool:
    """A budget crossing (what restore's period logic reads), not a fix or a leak record."""
    return record.get("kind") != FIX_KIND and not is_leak_record(record)


def fix_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``audit --fix`` records not restored yet."""
    return [r for r in records if r.get("kind") == FIX_KIND and not r.get("restored_at")]


def leak_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if is_leak_record(r) and not r.get("dry_run")]


def leaked_keys(records: list[dict[str, Any]]) -> set[str]:
    """Every key an abuse event named (the firing's revoke target), from any period."""
    names: set[str] = set()
    for record in leak_records(records):
        for entry in (record.get("actions") or {}).values():
            names.update((entry.get("progress") or {}).get("selected") or [])
    return names


def fix_steps(records: list[dict[str, Any]], step: Any) -> list[Any]:
    """restore Steps (``step`` is restore's Step class) for the audit-fix records."""
    steps: dict[tuple[str, str], Any] = {}
    for record in fix_records(records):
        for fix in record.get("fixes") or []:
            if fix.get("status") not in ("done", "already"):
                continue
            kind = "restrictions" if fix.get("action") == "restrict" else "key"
            made = steps.setdefault(
                (kind, fix["key"]),
                step(
                    kind, fix["key"], FIX_KIND, payload={"restrictions": fix.get("previous") or {}}
                ),
            )
            made.crossings.append(doc_id(record))
    return list(steps.values())


def offending_steps(records: list[dict[str, Any]], step: Any) -> list[Any]:
    """restore Steps for the keys ``revoke_offending_keys`` deleted in these crossings."""
    steps: dict[str, Any] = {}
    for record in records:
        entry = (record.get("actions") or {}).get("revoke_offending_keys") or {}
        for name in (entry.get("progress") or {}).get("deleted") or []:
            made = steps.setdefault(name, step("key", name, "revoke_offending_keys"))
            made.crossings.append(doc_id(record))
    return list(steps.values())


def leak_steps(records: list[dict[str, Any]], include_leaked: bool, step: Any) -> list[Any]:
    """restore Steps for the keys the leaked-key handler deleted."""
    steps = []
    for record in leak_records(records):
        entry = (record.get("actions") or {}).get("revoke_leaked_key") or {}
        for name in (entry.get("progress") or {}).get("deleted") or []:
            made = step("key", name, "revoke_leaked_key", run=include_leaked, note=LEAK_NOTE)
            made.crossings.append(doc_id(record))
            steps.append(made)
    return steps


def hold_leaked(steps: list[Any], leaked: set[str], include_leaked: bool) -> None:
    """Any key step for a leaked key runs only with ``--include-leaked``."""
    for s in steps:
        if s.kind == "key" and s.target in leaked and not include_leaked:
            s.run, s.note = False, LEAK_NOTE


def restrictions(project: str, name: str, payload: dict[str, Any]) -> tuple[str, str]:
    """Put back the restrictions an ``audit --fix`` replaced: ("restored"|"already", detail)."""
    previous = payload.get("restrictions") or {}
    key = keys_api.get_key(project, name)
    if key is None:
        return "failed", "the key no longer exists"
    if (key.get("restrictions") or {}) == previous:
        return "already", "its restrictions are as before the fix"
    keys_api.patch_restrictions(project, name, previous)
    targets = [t.get("service") for t in previous.get("apiTargets") or []]
    return "restored", "API targets back to " + (", ".join(map(str, targets)) or "none (every API)")
