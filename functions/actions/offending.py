"""``revoke_offending_keys`` and ``revoke_leaked_key``: delete exactly the keys a firing names.

The budget brakes (``revoke_keys``) take every Gemini key of a project down at once. These act on
the keys the firing names (``Firing.targets``) and leave the rest of the project working:
  - ``revoke_offending_keys``: a ``rate`` rule evaluated per key (``functions.keyrate``) names
    the keys whose rate crossed;
  - ``revoke_leaked_key``: a ``LEAKED_CREDENTIALS`` abuse event (``functions.leakevent``) names
    one key. Same deletion; it also declares what the leaked-key handler needs to find that key
    before the executor runs (list the keys, and compare key strings when the event gives one).

Targets are key resource names, or key uids (a per-key rate firing: Monitoring's
``credential_id`` is ``apikey:<uid>``), looked up among the project's keys. Each named key is
read first: already deleted is "already", gone is reported, never an error.
Progress (``restore`` reads it): ``selected`` [names], ``deleted`` [names this firing deleted],
``already_deleted`` [names deleted before it: restore leaves them], ``why`` {name: why}.
Errors: ActionFailed (permission), TransientError (retry on redelivery), as ``keys_api`` raises.
"""

from __future__ import annotations

from functions.actions import keys_api
from functions.actions.base import Action, Context, Outcome

__all__ = ["RevokeLeakedKey", "RevokeOffendingKeys"]


def _names(project: str, targets: tuple[str, ...]) -> list[str]:
    """Resource names for ``targets``: names as given, uids looked up among the project's keys
    (deleted ones too); a uid no key has is kept as is and reported as gone."""
    if all("/" in t for t in targets):
        return list(targets)
    by_uid = {k.get("uid"): k["name"] for k in keys_api.list_keys(project, show_deleted=True)}
    return [t if "/" in t else by_uid.get(t, t) for t in targets]


class RevokeOffendingKeys(Action):
    name = "revoke_offending_keys"
    summary = "delete only the API keys the firing names (soft delete), leave the others working"
    # list: a per-key rate firing names keys by uid (Monitoring's credential_id)
    permissions = frozenset(
        {
            "apikeys.keys.list",
            "apikeys.keys.get",
            "apikeys.keys.delete",
            "serviceusage.operations.get",
        }
    )
    idempotent = True  # each key is read before it is deleted; a deleted one is left alone

    def run(self, ctx: Context) -> Outcome:
        if "selected" not in ctx.progress:
            ctx.progress["selected"] = _names(ctx.project, ctx.firing.targets)
            ctx.checkpoint()
        names = list(ctx.progress["selected"])
        if not names:
            return Outcome("noop", f"no API key named for {ctx.project}")
        ctx.progress.setdefault("why", {n: ctx.firing.reason for n in names})
        deleted: list[str] = ctx.progress.setdefault("deleted", [])
        # Deleted before this firing (by someone else): never recorded as ours, so restore
        # does not undelete what it did not delete.
        already: list[str] = ctx.progress.setdefault("already_deleted", [])
        gone = []
        for name in names:
            if name in deleted or name in already:
                continue
            key = keys_api.get_key(ctx.project, name) if "/" in name else None
            if key is None:
                gone.append(name)
                continue
            if key.get("deleteTime"):
                already.append(name)
            else:
                keys_api.delete_key(ctx.project, name)
                deleted.append(name)
                ctx.log.info(f"API key deleted: {name}", key=name, why=ctx.firing.reason)
            ctx.checkpoint()
        if not deleted:
            left = "; ".join(
                part
                for part in (
                    f"already deleted: {', '.join(already)}" if already else "",
                    f"no longer exist: {', '.join(gone)}" if gone else "",
                )
                if part
            )
            return Outcome("noop", f"no API key to delete in {ctx.project} ({left})")
        detail = (
            f"deleted {len(deleted)} API key(s) in {ctx.project} (undelete within 30 days): "
            + ", ".join(deleted)
            + (f"; already deleted: {', '.join(already)}" if already else "")
            + (f"; no longer exist: {', '.join(gone)}" if gone else "")
            + f"; why: {ctx.firing.reason}"
        )
        return Outcome("done", detail, {"deleted": list(deleted)})


class RevokeLeakedKey(RevokeOffendingKeys):
    name = "revoke_leaked_key"
    summary = "delete the API key a LEAKED_CREDENTIALS abuse event names (soft delete)"
    # + what the handler needs to find the key an event names (by id, or by its key string)
    permissions = RevokeOffendingKeys.permissions | {"apikeys.keys.getKeyString"}
