"""``revoke_offending_keys`` and ``revoke_leaked_key``: delete exactly the keys a firing names.

The budget brakes (``revoke_keys``) take every Gemini key of a project down at once. These act on
the keys the firing names (``Firing.targets``) and leave the rest of the project working:
  - ``revoke_offending_keys``: a ``rate`` rule evaluated per key (``functions.keyrate``) names
    the keys whose rate crossed;
  - ``revoke_leaked_key``: a ``LEAKED_CREDENTIALS`` abuse event (``functions.leakevent``) names
    one key. Same deletion; it also declares what the leaked-key handler needs to find that key
    before the executor runs (list the keys, and compare key strings when the event gives one).

Each named key is read first: already deleted is "already", gone is reported, never an error.
Progress (``restore`` reads it): ``selected`` [names], ``deleted`` [names], ``why`` {name: why}.
Errors: ActionFailed (permission), TransientError (retry on redelivery), as ``keys_api`` raises.
"""

from __future__ import annotations

from functions.actions import keys_api
from functions.actions.base import Action, Context, Outcome

__all__ = ["RevokeLeakedKey", "RevokeOffendingKeys"]


class RevokeOffendingKeys(Action):
    name = "revoke_offending_keys"
    summary = "delete only the API keys the firing names (soft delete), leave the others working"
    permissions = frozenset(
        {"apikeys.keys.get", "apikeys.keys.delete", "serviceusage.operations.get"}
    )
    idempotent = True  # each key is read before it is deleted; a deleted one is left alone

    def run(self, ctx: Context) -> Outcome:
        names = list(ctx.progress.setdefault("selected", list(ctx.firing.targets)))
        if not names:
            return Outcome("noop", f"no API key named for {ctx.project}")
        ctx.progress.setdefault("why", {n: ctx.firing.reason for n in names})
        deleted: list[str] = ctx.progress.setdefault("deleted", [])
        gone, already = [], []
        for name in names:
            if name in deleted:
                continue
            key = keys_api.get_key(ctx.project, name)
            if key is None:
                gone.append(name)
                continue
            if key.get("deleteTime"):
                already.append(name)
            else:
                keys_api.delete_key(ctx.project, name)
                ctx.log.info(f"API key deleted: {name}", key=name, why=ctx.firing.reason)
            deleted.append(name)
            ctx.checkpoint()
        if not deleted:
            return Outcome("noop", f"the API keys named no longer exist: {', '.join(gone)}")
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
    permissions = RevokeOffendingKeys.permissions | {
        "apikeys.keys.list",
        "apikeys.keys.getKeyString",
    }
