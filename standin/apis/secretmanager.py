"""Secret Manager v1: ``secrets.get``, ``secrets.addVersion``, ``secrets.versions.access``.

Secrets are looked up by ``projects/{id}/secrets/{s}`` (a project number works when the project
is in the world). Names in answers use the project number when the project is known, else the
ID as seeded. ``addVersion`` verifies ``dataCrc32c`` when sent (400 INVALID_ARGUMENT on mismatch).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from standin.call import Call
from standin.crc32c import crc32c
from standin.errors import failed_precondition, invalid_argument, not_found
from standin.model import Secret, SecretVersion
from standin.routing import route

__all__ = ["MAX_PAYLOAD_BYTES", "ROUTES", "VERSION_STATE"]

#: google.cloud.secretmanager.v1.SecretVersion.State, for ``$alt=json;enum-encoding=int``.
VERSION_STATE = {"STATE_UNSPECIFIED": 0, "ENABLED": 1, "DISABLED": 2, "DESTROYED": 3}
MAX_PAYLOAD_BYTES = 65536
_SECRET = "/v1/projects/{project}/secrets/{secret}"
_RESOURCE = "projects/{project}/secrets/{secret}"


def _secret(call: Call) -> tuple[Secret, str]:
    """The secret and its name as answered (project number when known)."""
    ref, secret_id = call.params["project"], call.params["secret"]
    secret = call.world.secret(ref, secret_id)
    if secret is None:
        raise not_found(f"Secret [projects/{ref}/secrets/{secret_id}] not found.")
    project = call.project
    shown = project.number if project is not None else secret.name.split("/")[1]
    return secret, f"projects/{shown}/secrets/{secret_id}"


def get_secret(call: Call) -> dict[str, Any]:
    secret, name = _secret(call)
    return {"name": name, "replication": {"automatic": {}}, "createTime": secret.create_time}


def _payload_bytes(call: Call) -> tuple[bytes, str]:
    payload = call.body_object("payload")
    raw = payload.get("data", "")
    try:
        data = base64.b64decode(raw, validate=True) if isinstance(raw, str) else None
    except binascii.Error:
        data = None
    if data is None:
        raise invalid_argument("Invalid value at 'payload.data': expected base64 bytes")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise invalid_argument(f"Secret payload is larger than {MAX_PAYLOAD_BYTES} bytes.")
    return data, str(payload.get("dataCrc32c", ""))


def add_version(call: Call) -> dict[str, Any]:
    secret, name = _secret(call)
    data, checksum = _payload_bytes(call)
    if checksum and checksum != str(crc32c(data)):
        raise invalid_argument("Checksum of the payload does not match 'payload.dataCrc32c'.")
    number = max((v.version for v in secret.versions), default=0) + 1
    version = SecretVersion(version=number, data=base64.b64encode(data).decode())
    secret.versions.append(version)
    out: dict[str, Any] = {
        "name": f"{name}/versions/{number}",
        "createTime": version.create_time,
        "state": call.enum(VERSION_STATE, version.state),
        "replicationStatus": {"automatic": {}},
    }
    if checksum:
        out["clientSpecifiedPayloadChecksum"] = True
    return out


def access_version(call: Call) -> dict[str, Any]:
    secret, name = _secret(call)
    wanted = call.params["version"]
    if wanted == "latest":
        version = secret.versions[-1] if secret.versions else None
        if version is None:
            raise not_found(f"Secret [{name}] not found or has no versions.")
    else:
        version = next((v for v in secret.versions if str(v.version) == wanted), None)
        if version is None:
            raise not_found(f"Secret Version [{name}/versions/{wanted}] not found.")
    if version.state != "ENABLED":
        raise failed_precondition(
            f"Secret Version [{name}/versions/{version.version}] is in {version.state} state."
        )
    data = base64.b64decode(version.data)
    return {
        "name": f"{name}/versions/{version.version}",
        "payload": {"data": version.data, "dataCrc32c": str(crc32c(data))},
    }


ROUTES = [
    route(
        "GET",
        _SECRET,
        "secretmanager.projects.secrets.get",
        get_secret,
        resource=_RESOURCE,
        project_required=False,
    ),
    route(
        "POST",
        _SECRET + ":addVersion",
        "secretmanager.projects.secrets.addVersion",
        add_version,
        resource=_RESOURCE,
        project_required=False,
    ),
    route(
        "GET",
        _SECRET + "/versions/{version}:access",
        "secretmanager.projects.secrets.versions.access",
        access_version,
        resource=_RESOURCE,
        project_required=False,
    ),
]
