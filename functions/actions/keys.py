"""``rotate_keys`` and ``revoke_keys``: replace or delete the project's Gemini API keys.

Which keys: ``policy.keys.match`` (see ``keys_api``), chosen once per crossing and kept in the
ledger, so a redelivery works on the same keys.

``rotate_keys``, in this order, each step checkpointed in the ledger:
  1. for each selected key, a replacement with the same display name, restrictions, annotations
     and service-account binding, annotated ``budget-guard/replaces`` (the old key's name) and
     ``budget-guard/crossing`` (the crossing's ledger id). Its keyId is derived from the crossing
     and the old key's uid, so an attempt that made it already is found (ALREADY_EXISTS) and no
     second replacement is ever made;
  2. when ``policy.keys.secret`` is set, ONE new version of the project's secret (``{project}``
     in its name replaced by the project ID: ``KeysConfig.secret_for``; the policy refuses one
     secret written by several projects) holding a JSON object that maps each replaced key's
     display name to its replacement's key string::

         {"gemini-prod": "AQ.Ab8RN6...", "batch-jobs": "AIzaSy..."}

     When several rotated keys share a display name, each of those entries is keyed
     ``"<display name>#<uid of the new key>"``; a key with no display name is keyed by the new
     key's uid. The version is written once all replacements exist; a retry after a lost answer
     may add a second, identical version;
  3. the old keys are deleted (soft: ``gcloud services api-keys undelete`` restores them for
     30 days). Until the secret holds the new strings, no old key is deleted.
The secret needs ``secretmanager.versions.add`` granted on the secret itself (not the project).

``revoke_keys`` deletes the selected keys (soft) and makes none: the emergency brake for a leak.

Progress in the ledger (``actions.<name>.progress``; ``restore`` reads it):
  rotate_keys: ``selected`` [old key names], ``replacements`` {old name: new name},
               ``secret_version`` (version name), ``deleted`` [old key names];
  revoke_keys: ``selected`` [key names], ``deleted`` [key names].
Key strings exist only in memory, between getKeyString and the secret: never in logs, outcomes,
progress or errors.
"""

from __future__ import annotations

import json
from typing import Any

from functions import gcp, keyclass
from functions.actions import keys_api
from functions.actions.base import Action, Context, Outcome
from functions.errors import ActionFailed

__all__ = ["RevokeKeys", "RotateKeys"]


def _describe_match(match: str | tuple[str, ...]) -> str:
    return "gemini" if isinstance(match, str) else "display names " + ", ".join(match)


def _selected(ctx: Context) -> tuple[list[str], dict[str, keys_api.Key]]:
    """The selected key names, chosen on the first attempt; the keys when listed just now."""
    if "selected" in ctx.progress:
        return list(ctx.progress["selected"]), {}
    crossing = ctx.firing.crossing.doc_id
    listed = keys_api.list_keys(ctx.project)
    match, services = ctx.policy.keys.match, ctx.policy.services
    chosen = keys_api.select(listed, match, crossing, services)
    ctx.progress["selected"] = [key["name"] for key in chosen]
    ctx.checkpoint()
    ctx.log.info(
        f"selected {len(chosen)} API key(s) matching {_describe_match(match)}",
        keys=ctx.progress["selected"],
        # why each live key was (or was not) chosen: keyclass's reason, or the name match
        reasons={
            key["name"]: keyclass.classify(key, services).reason
            if isinstance(match, str)
            else ("display name listed" if key in chosen else "display name not listed")
            for key in listed
            if not key.get("deleteTime")
        },
    )
    return list(ctx.progress["selected"]), {key["name"]: key for key in chosen}


def _delete(ctx: Context, names: list[str]) -> list[str]:
    """Delete ``names`` not deleted yet, checkpointing each; every name now deleted."""
    deleted: list[str] = ctx.progress.setdefault("deleted", [])
    for name in names:
        if name in deleted:
            continue
        result = keys_api.delete_key(ctx.project, name)
        deleted.append(name)
        ctx.checkpoint()
        ctx.log.info(f"API key {result}: {name}", key=name)
    return deleted


def _labels(keys: list[keys_api.Key]) -> list[str]:
    """The secret's entry name for each new key: its display name, unique (module docstring)."""
    names = [key.get("displayName") or "" for key in keys]
    return [
        f"{name}#{key['uid']}" if names.count(name) > 1 and name else (name or key["uid"])
        for name, key in zip(names, keys, strict=True)
    ]


def _hand_off(ctx: Context, secret: str, new_names: list[str]) -> str:
    """Write one secret version mapping display name -> new key string; its version name."""
    from google.api_core import exceptions as gexc
    from google.cloud import secretmanager

    # An attempt that ran without the ledger may have replaced keys that this one no longer
    # selects (their old keys are gone): the version holds every live replacement of the crossing.
    crossing = ctx.firing.crossing.doc_id
    new_names = new_names + [
        key["name"]
        for key in keys_api.list_keys(ctx.project)
        if key.get("annotations", {}).get(keys_api.CROSSING) == crossing
        and key["name"] not in new_names
    ]
    keys = []
    for name in new_names:
        key = keys_api.get_key(ctx.project, name)
        if key is None:
            raise ActionFailed(
                f"replacement API key {name} no longer exists",
                "clear this crossing's rotate_keys progress in the ledger to rotate again",
            )
        if key.get("deleteTime"):
            raise ActionFailed(
                f"replacement API key {name} has been deleted",
                f"undelete it ({keys_api.UNDELETE_HINT}); the next notification resumes",
            )
        keys.append(key)
    labels = _labels(keys)
    payload = json.dumps(
        {
            label: keys_api.key_string(ctx.project, key["name"])
            for label, key in zip(labels, keys, strict=True)
        },
        sort_keys=True,
    ).encode()
    client = gcp.client(secretmanager.SecretManagerServiceClient)
    version = gcp.call(
        f"add a version to {secret}",
        lambda: client.add_secret_version(
            parent=secret,
            payload=secretmanager.SecretPayload(data=payload),
            retry=None,
            timeout=gcp.timeout(),
        ),
        {
            gexc.Forbidden: f"grant the guard secretmanager.versions.add on {secret}",
            gexc.NotFound: f"create the secret {secret}, or fix policy keys.secret",
        },
    )
    return str(version.name)


class RotateKeys(Action):
    name = "rotate_keys"
    summary = (
        "replace the project's Gemini API keys, hand the new ones to the secret, delete the old"
    )
    permissions = frozenset(
        {
            "apikeys.keys.list",
            "apikeys.keys.get",
            "apikeys.keys.create",
            "apikeys.keys.getKeyString",
            "apikeys.keys.delete",
            "serviceusage.operations.get",
            "resourcemanager.projects.get",  # the restore marker (functions/restored.py)
        }
    )
    config = ("keys",)
    # A repeat finds its replacements by their keyId and never selects them: safe without a claim.
    idempotent = True
    strength = 1

    def run(self, ctx: Context) -> Outcome:
        selected, listed = _selected(ctx)
        if not selected:
            return Outcome(
                "noop",
                f"no API key in {ctx.project} matches {_describe_match(ctx.policy.keys.match)}",
            )
        crossing = ctx.firing.crossing.doc_id
        replacements: dict[str, str] = ctx.progress.setdefault("replacements", {})
        vanished = []
        for name in selected:
            if name in replacements:
                continue
            old = listed.get(name) or keys_api.get_key(ctx.project, name)
            if old is not None and old.get("deleteTime"):
                # Replaced and deleted by an attempt that could not record it (the ledger was
                # unreachable): record that replacement, so this record tells what was done.
                made = keys_api.existing_replacement(ctx.project, old, crossing)
                if made is not None:
                    replacements[name] = made["name"]
                    ctx.checkpoint()
                    continue
            if old is None or old.get("deleteTime"):
                vanished.append(name)  # deleted by someone else since it was selected
                continue
            new = keys_api.create_replacement(ctx.project, old, crossing)
            replacements[name] = new["name"]
            ctx.checkpoint()
            ctx.log.info(
                f"replacement API key made: {name} -> {new['name']}",
                key=name,
                replacement=new["name"],
            )
        if vanished:
            ctx.log.warning("selected API keys deleted meanwhile, not replaced", keys=vanished)
        if not replacements:
            return Outcome("noop", f"the selected API keys of {ctx.project} no longer exist")
        olds = [name for name in selected if name in replacements]

        secret = ctx.policy.keys.secret_for(ctx.project)
        if secret is not None and "secret_version" not in ctx.progress:
            ctx.progress["secret_version"] = _hand_off(ctx, secret, [replacements[n] for n in olds])
            ctx.checkpoint()
            ctx.log.info(f"new key strings written to {ctx.progress['secret_version']}")

        _delete(ctx, olds)
        pairs = "; ".join(f"{old} -> {replacements[old]}" for old in olds)
        where = (
            f"new key strings in {ctx.progress['secret_version']}"
            if secret is not None
            else "no keys.secret configured: read the new key strings in the console"
        )
        data: dict[str, Any] = {"replacements": {old: replacements[old] for old in olds}}
        if secret is not None:
            data["secret_version"] = ctx.progress["secret_version"]
        return Outcome(
            "done", f"rotated {len(olds)} API key(s) in {ctx.project}: {pairs}; {where}", data
        )


class RevokeKeys(Action):
    name = "revoke_keys"
    summary = (
        "delete the project's Gemini API keys with no replacement (soft delete, 30 days to undo)"
    )
    permissions = frozenset(
        {
            "apikeys.keys.list",
            "apikeys.keys.delete",
            "serviceusage.operations.get",
            "resourcemanager.projects.get",  # the restore marker (functions/restored.py)
        }
    )
    config = ("keys",)
    idempotent = True  # only live keys are listed and a deleted one is never deleted twice
    strength = 2

    def run(self, ctx: Context) -> Outcome:
        selected, _ = _selected(ctx)
        if not selected:
            return Outcome(
                "noop",
                f"no API key in {ctx.project} matches {_describe_match(ctx.policy.keys.match)}",
            )
        deleted = _delete(ctx, selected)
        return Outcome(
            "done",
            f"deleted {len(deleted)} API key(s) in {ctx.project} (undelete within 30 days): "
            + ", ".join(deleted),
            {"deleted": list(deleted)},
        )
