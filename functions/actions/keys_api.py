"""API Keys v2 over REST, and which keys the key actions select.

REST through google-auth's AuthorizedSession (``gcp.rest_call``), not google-cloud-api-keys: its
``Key`` (0.9.1) has no ``serviceAccountEmail``, and a replacement made through it would lose the
service-account binding of the auth key it replaces. Every call goes through ``gcp.call``.

Selection (``policy.keys.match``):
  - ``"gemini"``: every live key that can call a Gemini API, as ``functions.keyclass`` decides
    (no API restriction, or an API target that is a Gemini service the policy names; neither a
    service-account binding nor a browser/IP/app restriction changes that);
  - a list of display names: the live keys with one of those names.
A replacement the guard made for the same crossing (annotation ``budget-guard/crossing``) is never
selected.

Key strings are read only by ``key_string`` (getKeyString); every other function strips
``keyString`` from what it returns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial
from typing import Any

from functions import gcp
from functions.errors import ActionFailed
from functions.keyclass import can_call_gemini

__all__ = [
    "CROSSING",
    "REPLACES",
    "SERVICE",
    "UNDELETE_HINT",
    "VERSION",
    "Key",
    "create_replacement",
    "delete_key",
    "existing_replacement",
    "get_key",
    "key_string",
    "list_keys",
    "replacement_body",
    "replacement_id",
    "select",
]

SERVICE = "apikeys"
VERSION = "v2"
# Annotations the guard adds to a replacement: the key it replaces and the crossing that caused it.
REPLACES = "budget-guard/replaces"
CROSSING = "budget-guard/crossing"
# What a replacement copies from the key it replaces (never keyString, name, uid, times, etag).
_COPIED = ("displayName", "restrictions", "annotations", "serviceAccountEmail")
UNDELETE_HINT = "gcloud services api-keys undelete"

Key = dict[str, Any]


def _public(key: Key) -> Key:
    """The key without its key string or the operation's type tag."""
    return {k: v for k, v in key.items() if k not in ("keyString", "@type")}


def _forbidden(permission: str, project: str) -> dict[type[BaseException], str]:
    from google.api_core import exceptions as gexc

    return {
        gexc.Forbidden: (
            f"grant the guard {permission} on projects/{project} (the infra module's role), "
            "and check that the API Keys API (apikeys.googleapis.com) is enabled"
        )
    }


def list_keys(project: str, *, show_deleted: bool = False) -> list[Key]:
    """Every key of ``project`` (live ones only unless ``show_deleted``), all pages."""
    keys: list[Key] = []
    token = ""
    path = f"{VERSION}/projects/{project}/locations/global/keys"
    while True:
        params: dict[str, Any] = {"pageToken": token} if token else {}
        if show_deleted:
            params["showDeleted"] = "true"
        page = gcp.call(
            f"list API keys of {project}",
            partial(gcp.rest_call, "GET", SERVICE, path, **params),
            _forbidden("apikeys.keys.list", project),
        )
        keys.extend(_public(k) for k in page.get("keys", []))
        token = page.get("nextPageToken", "")
        if not token:
            return keys


def get_key(project: str, name: str) -> Key | None:
    """The key named ``name`` (deleted or not), or None when it does not exist."""
    from google.api_core import exceptions as gexc

    def get() -> Key | None:
        try:
            return _public(gcp.rest_call("GET", SERVICE, f"{VERSION}/{name}"))
        except gexc.NotFound:
            return None

    return gcp.call(f"read API key {name}", get, _forbidden("apikeys.keys.get", project))


def key_string(project: str, name: str) -> str:
    """The secret key string of ``name``. Keep it in memory only, for as short as possible."""
    reply = gcp.call(
        f"read the key string of {name}",
        lambda: gcp.rest_call("GET", SERVICE, f"{VERSION}/{name}/keyString"),
        _forbidden("apikeys.keys.getKeyString", project),
    )
    value = reply.get("keyString")
    if not isinstance(value, str) or not value:
        raise ActionFailed(
            f"read the key string of {name}: the answer held none", "see the key in the console"
        )
    return value


def replacement_id(crossing: str, uid: str) -> str:
    """The keyId of the replacement for the key ``uid`` in ``crossing``: the same on every attempt.

    A second create with the same keyId answers ALREADY_EXISTS, so a retried rotation finds the
    replacement it made before instead of making another one.
    """
    return "bg-" + hashlib.sha256(f"{crossing}/{uid}".encode()).hexdigest()[:40]


def existing_replacement(project: str, old: Key, crossing: str) -> Key | None:
    """The live replacement of ``old`` an earlier attempt made for ``crossing``, or None."""
    name = f"{old['name'].rsplit('/', 1)[0]}/{replacement_id(crossing, old['uid'])}"
    key = get_key(project, name)
    if key is None or key.get("deleteTime"):
        return None
    return key if key.get("annotations", {}).get(REPLACES) == old["name"] else None


def replacement_body(old: Key, crossing: str) -> Key:
    """The new key: the old one's display name, restrictions, annotations, service account."""
    body = {field: old[field] for field in _COPIED if old.get(field)}
    body["annotations"] = {**old.get("annotations", {}), REPLACES: old["name"], CROSSING: crossing}
    return body


def create_replacement(project: str, old: Key, crossing: str) -> Key:
    """Create (or find, if an earlier attempt made it) the replacement of ``old``; wait for it."""
    from google.api_core import exceptions as gexc

    key_id = replacement_id(crossing, old["uid"])
    parent = f"{VERSION}/projects/{project}/locations/global/keys"
    body = replacement_body(old, crossing)
    what = f"create the replacement of API key {old['name']}"

    def create() -> dict[str, Any]:
        try:
            return dict(gcp.rest_call("POST", SERVICE, parent, json=body, keyId=key_id))
        except gexc.Conflict as exc:
            if gcp.status(exc) != "ALREADY_EXISTS":
                raise
            existing = gcp.rest_call("GET", SERVICE, f"{parent}/{key_id}")
            return {"done": True, "response": existing}  # made by an earlier attempt

    remedies = _forbidden("apikeys.keys.create", project)
    account = old.get("serviceAccountEmail")
    if account:  # binding the replacement to the account needs actAs on it (README, decisions)
        remedies = {
            kind: f"{text}; and grant it roles/iam.serviceAccountUser (iam.serviceAccounts.actAs) "
            f"on {account}, which the replacement is bound to (infra: key_service_accounts)"
            for kind, text in remedies.items()
        }
    operation = gcp.call(what, create, remedies)
    polling = _forbidden("serviceusage.operations.get", project)  # polling needs its own
    key = _public(gcp.call(what, lambda: gcp.rest_wait(SERVICE, VERSION, operation), polling))
    if key.get("annotations", {}).get(REPLACES) != old["name"]:
        raise ActionFailed(
            f"{what}: key {key.get('name')} exists but does not replace {old['name']}",
            f"delete key {key_id} in {project}; the next notification resumes the rotation",
        )
    if key.get("deleteTime"):
        raise ActionFailed(
            f"{what}: its replacement {key['name']} made by an earlier attempt has been deleted",
            f"undelete it ({UNDELETE_HINT}); the next notification resumes the rotation",
        )
    return key


def delete_key(project: str, name: str) -> str:
    """Soft-delete ``name`` (undeletable for 30 days): "deleted", or "already deleted"."""
    from google.api_core import exceptions as gexc

    def delete() -> dict[str, Any]:
        try:
            return dict(gcp.rest_call("DELETE", SERVICE, f"{VERSION}/{name}"))
        except gexc.NotFound:
            return {"done": True, "already": True}
        except gexc.BadRequest as exc:
            # Deleting a deleted key is refused: an earlier attempt (or a retry whose answer was
            # lost) deleted it already. Anything else is a real refusal.
            if gcp.status(exc) == "FAILED_PRECONDITION" and _is_deleted(project, name):
                return {"done": True, "already": True}
            raise

    remedies = _forbidden("apikeys.keys.delete", project)
    operation = gcp.call(f"delete API key {name}", delete, remedies)
    if operation.get("already"):
        return "already deleted"
    polling = _forbidden("serviceusage.operations.get", project)
    gcp.call(f"delete API key {name}", lambda: gcp.rest_wait(SERVICE, VERSION, operation), polling)
    return "deleted"


def _is_deleted(project: str, name: str) -> bool:
    return any(
        k["name"] == name and k.get("deleteTime") for k in list_keys(project, show_deleted=True)
    )


def select(
    keys: Sequence[Key], match: str | Sequence[str], crossing: str, services: Sequence[str]
) -> list[Key]:
    """The live keys ``match`` selects, never a replacement made for ``crossing``.

    ``match`` is "gemini" (the only word the policy accepts) or a list of display names;
    ``services`` is the policy's ``services`` (which Gemini services count, ``keyclass``).
    """
    return [
        key
        for key in keys
        if not key.get("deleteTime")
        and key.get("annotations", {}).get(CROSSING) != crossing
        and (
            can_call_gemini(key, services)
            if isinstance(match, str)
            else key.get("displayName") in match
        )
    ]
