"""``restore``'s quota steps: raise what ``throttle`` lowered back to the recorded values.

From a throttle record's progress ``replaced`` (every row and the value in force before it):
one step per (quota id, model), target ``QUOTA_ID/model``, value = the value to put back (-1 or
none recorded: unlimited). Each step reads the quota first:
    in force == recorded          -> "already"
    in force >  recorded          -> "already" (someone raised it since; never lowered again)
    an increase to it is pending  -> "pending"  (asked earlier; Google has not granted it yet)
    else: patch it back           -> "restored", or "pending" when Google does not grant the
                                     increase at once (it may need approval: the quota stays
                                     low until then; the detail says which and what to do)
"""

from __future__ import annotations

from typing import Any

from functions.quotas import api

__all__ = ["PURPOSE", "quota_rows", "restore_quota"]

PURPOSE = "restore"
CONSOLE = "https://console.cloud.google.com/iam-admin/quotas"


def quota_rows(progress: dict[str, Any]) -> list[tuple[str, int]]:
    """(``QUOTA_ID/model``, value to put back) for each row a throttle recorded."""
    rows = []
    for key, row in (progress.get("replaced") or {}).items():
        before = row.get("before")
        rows.append((str(key), -1 if before is None else int(before)))
    return rows


def _show(value: int | None) -> str:
    return "unlimited" if value is None or value < 0 else str(value)


def _pending(project: str, quota_id: str, model: str, pref: api.Preference, want: int) -> str:
    del quota_id, model  # the step's own line names them
    return (
        f"pending at Google: {_show(pref.granted)} is in force until the increase to "
        f"{_show(want)} is granted"
        + (f" ({pref.state_detail.rstrip('.')})" if pref.state_detail else "")
        + f". Fix: wait and run restore again to check, or ask for it in the console ({CONSOLE}"
        f"?project={project}, preference {pref.id}); `gcloud beta quotas preferences describe "
        f"{pref.id} --project={project}` shows its state"
    )


def restore_quota(project: str, target: str, want: int) -> tuple[str, str]:
    """Put (quota id, model) back to ``want``; (status, detail) as ``restore`` reports it."""
    quota_id, _, model = target.partition("/")
    info = api.infos(project).get(quota_id)
    current = info.values.get(model) if info else None
    pref = api.find(project, quota_id, model, api.preference_id(PURPOSE, quota_id, model))
    if current == want:
        return "already", f"{quota_id} for {model} is {_show(want)}"
    if current is not None and want >= 0 and (current < 0 or current > want):
        return "already", f"{quota_id} for {model} is {_show(current)} now (higher); left as is"
    if pref is not None and pref.pending and pref.preferred == want:
        return "pending", _pending(project, quota_id, model, pref, want)
    own = api.preference_id(PURPOSE, quota_id, model)
    result = api.set_value(project, own, quota_id, model, want, pref)
    if result.pending:
        return "pending", _pending(project, quota_id, model, result, want)
    return "restored", f"{quota_id} for {model} back to {_show(want)}"
