"""API Keys v2: list (paginated), create, get, getKeyString, delete, undelete, operations.get.

Key resource names use the project number. ``keyString`` is only answered by ``getKeyString``
(not by list/get, nor in the create operation's response). ``create`` answers a pending operation
that is done on its first poll; the key exists from the create call on. ``delete`` is soft: the
key keeps answering ``get`` and is listed only with ``showDeleted=true``. Choices where Google's
behaviour is not documented: deleting a deleted key, or undeleting a live one, answers
400 FAILED_PRECONDITION; a ``delete`` whose ``etag`` does not match answers 409 ABORTED; an
unknown key answers 404 NOT_FOUND. A create with ``serviceAccountEmail`` needs
``iam.serviceAccounts.actAs`` on that account (403 otherwise). ``list`` pages hold
:data:`DEFAULT_PAGE_SIZE` keys unless ``pageSize`` says otherwise, so clients must follow
``nextPageToken``.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from standin.apis.iam import act_as_granted
from standin.apis.operations import operation_route, start_operation
from standin.call import Call
from standin.errors import (
    aborted,
    already_exists,
    failed_precondition,
    invalid_argument,
    not_found,
    permission_denied,
)
from standin.generate import new_etag, new_key_string, new_uid, now_rfc3339
from standin.model import ApiKey
from standin.permissions import ACT_AS_PERMISSION
from standin.routing import route

__all__ = ["DEFAULT_PAGE_SIZE", "KEY_TYPE", "ROUTES"]

DEFAULT_PAGE_SIZE = 2
_MAX_PAGE_SIZE = 300
KEY_TYPE = "type.googleapis.com/google.api.apikeys.v2.Key"
_KEY_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_KEYS = "/v2/projects/{project}/locations/global/keys"
_KEY = _KEYS + "/{key}"
_KEY_RESOURCE = "projects/{project}/locations/global/keys/{key}"
_PREFIX = "akmf.p7"


def _page_start(token: str) -> int:
    if not token:
        return 0
    try:
        start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        start = -1
    if start < 0:
        raise invalid_argument(f"Invalid page token: {token!r}")
    return start


def list_keys(call: Call) -> dict[str, Any]:
    project = call.required_project()
    show_deleted = call.flag("showDeleted")
    keys = [key for key in project.keys if show_deleted or key.delete_time is None]
    size = min(call.integer("pageSize", DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE, _MAX_PAGE_SIZE)
    start = _page_start(call.query.get("pageToken", ""))
    out: dict[str, Any] = {}
    page = keys[start : start + size]
    if page:
        out["keys"] = [key.resource(project.number) for key in page]
    if start + size < len(keys):
        out["nextPageToken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
    return out


def create_key(call: Call) -> dict[str, Any]:
    project = call.required_project()
    key_id = call.query.get("keyId", "")
    if key_id and not _KEY_ID.match(key_id):
        raise invalid_argument(f"Invalid keyId {key_id!r}: must match {_KEY_ID.pattern}")
    if key_id and project.key(key_id) is not None:
        raise already_exists(f"Key '{key_id}' already exists in project {project.number}.")
    account = call.body_string("serviceAccountEmail")
    if account:
        _check_act_as(call, account)
    uid, now = new_uid(), now_rfc3339()
    key = ApiKey(
        key_id=key_id or uid,
        uid=uid,
        key_string=new_key_string(auth_key=bool(account)),
        display_name=call.body_string("displayName"),
        restrictions=call.body_object("restrictions"),
        annotations=call.body_object("annotations"),
        service_account_email=account,
        create_time=now,
        update_time=now,
    )
    project.keys.append(key)
    response = {"@type": KEY_TYPE, **key.resource(project.number)}
    return start_operation(call, "apikeys", _PREFIX, project, response, done=False)


def _check_act_as(call: Call, account: str) -> None:
    """403 unless the caller may act as ``account`` (``permissions.ACT_AS_PERMISSION``)."""
    if not act_as_granted(call.world, account, call.required_project()):
        raise permission_denied(ACT_AS_PERMISSION, f"projects/-/serviceAccounts/{account}")


def _key(call: Call) -> ApiKey:
    project = call.required_project()
    key = project.key(call.params["key"])
    if key is None:
        name = f"projects/{project.number}/locations/global/keys/{call.params['key']}"
        raise not_found(f"Key '{name}' not found.")
    return key


def get_key(call: Call) -> dict[str, Any]:
    return _key(call).resource(call.required_project().number)


def get_key_string(call: Call) -> dict[str, Any]:
    return {"keyString": _key(call).key_string}


def _set_deleted(call: Call, deleted: bool) -> dict[str, Any]:
    project, key = call.required_project(), _key(call)
    if (key.delete_time is not None) == deleted:
        state = "already deleted" if deleted else "not deleted"
        raise failed_precondition(f"Key '{key.key_id}' is {state}.")
    etag = call.query.get("etag", "")
    if deleted and etag and etag != key.etag:
        raise aborted(f"The etag {etag!r} does not match the current etag of key '{key.key_id}'.")
    key.update_time = now_rfc3339()
    key.delete_time = key.update_time if deleted else None
    key.etag = new_etag()
    response = {"@type": KEY_TYPE, **key.resource(project.number)}
    return start_operation(call, "apikeys", _PREFIX, project, response, done=True)


def delete_key(call: Call) -> dict[str, Any]:
    return _set_deleted(call, True)


def undelete_key(call: Call) -> dict[str, Any]:
    return _set_deleted(call, False)


_M = "apikeys.projects.locations.keys."
ROUTES = [
    route("GET", _KEYS, _M + "list", list_keys),
    route("POST", _KEYS, _M + "create", create_key),
    route("GET", _KEY, _M + "get", get_key, resource=_KEY_RESOURCE),
    route("GET", _KEY + "/keyString", _M + "getKeyString", get_key_string, resource=_KEY_RESOURCE),
    route("DELETE", _KEY, _M + "delete", delete_key, resource=_KEY_RESOURCE),
    route("POST", _KEY + ":undelete", _M + "undelete", undelete_key, resource=_KEY_RESOURCE),
    operation_route("apikeys", "v2", "apikeys.operations.get"),
]
