"""``status``'s key section: the keys revoked on LEAKED_CREDENTIALS events and the ``audit --fix``
runs, from their ledger records (which have no budget period, so the period view skips them).
"""

from __future__ import annotations

from typing import Any

from functions.cli.output import Output
from functions.cli.restore_keys import FIX_KIND
from functions.leakhandler import is_leak_record

__all__ = ["keys_doc", "render"]


def keys_doc(records: list[dict[str, Any]]) -> dict[str, Any]:
    leaks = [
        {
            "project": r.get("project"),
            "keys": list(
                ((r.get("actions") or {}).get("revoke_leaked_key") or {})
                .get("progress", {})
                .get("selected", [])
            ),
            "state": r.get("state"),
            "claimed_at": r.get("claimed_at"),
            "actions": {a: e.get("status") for a, e in (r.get("actions") or {}).items()},
            "messages": len(r.get("message_ids") or []),
            "restored_at": r.get("restored_at"),
        }
        for r in records
        if is_leak_record(r) and not r.get("dry_run")
    ]
    fixes = [
        {
            "project": r.get("project"),
            "at": r.get("at"),
            "by": r.get("by"),
            "changes": {f.get("key"): f"{f.get('action')}: {f.get('status')}" for f in r["fixes"]},
            "restored_at": r.get("restored_at"),
        }
        for r in records
        if r.get("kind") == FIX_KIND and isinstance(r.get("fixes"), list)
    ]
    return {"leaked": sorted(leaks, key=lambda x: str(x["claimed_at"])), "audit_fixes": fixes}


def render(doc: dict[str, Any], out: Output) -> None:
    if not doc["leaked"] and not doc["audit_fixes"]:
        return
    out.say()
    for leak in doc["leaked"]:
        actions = ", ".join(f"{a} {s}" for a, s in leak["actions"].items())
        out.say(
            f"leaked key {', '.join(leak['keys']) or '?'} in {leak['project']}: {leak['state']}; "
            f"claimed {leak['claimed_at']} ({leak['messages']} delivery(ies)); {actions}"
            + (f"; restored {leak['restored_at']}" if leak["restored_at"] else "")
        )
    for fix in doc["audit_fixes"]:
        out.say(
            f"audit --fix on {fix['project']} at {fix['at']} by {fix['by']}: "
            f"{len(fix['changes'])} change(s)"
            + (f"; restored {fix['restored_at']}" if fix["restored_at"] else "")
        )
        for key, what in fix["changes"].items():
            out.say(f"  {key}: {what}")
