"""Resource Manager v1 and v3: ``projects.testIamPermissions``; v3 ``projects.get``/``patch``.

testIamPermissions answers the requested permissions the project's ``granted_permissions`` hold
(all of them when it is ``null``); omits ``permissions`` when none are held, as Google does.

``projects.get`` answers the v3 Project (``name`` is ``projects/{number}``, ``labels`` from the
seed). ``projects.patch`` supports ``updateMask=labels`` (the labels are replaced as a whole, as
Google does for a map field in the mask), validates keys and values as Google documents (keys
``[a-z][a-z0-9_-]{0,62}``, values ``[a-z0-9_-]{0,63}``, at most 64), and answers a long-running
operation that is done at once (its ``response`` the Project); ``GET /v3/operations/{id}``
answers it again.
"""

from __future__ import annotations

import re
from typing import Any

from standin.apis.operations import operation_route, start_operation
from standin.call import Call
from standin.errors import invalid_argument
from standin.model import Project
from standin.routing import route

__all__ = ["ROUTES"]

_METHOD = "cloudresourcemanager.projects.testIamPermissions"


def check_permissions(call: Call) -> dict[str, Any]:
    project = call.required_project()
    asked = call.body.get("permissions") or []
    if not isinstance(asked, list) or not all(isinstance(p, str) for p in asked):
        raise invalid_argument("Invalid value at 'permissions': expected a list of strings")
    granted = project.granted_permissions
    held = [p for p in asked if granted is None or p in granted]
    return {"permissions": held} if held else {}


_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_PROJECT_TYPE = "type.googleapis.com/google.cloud.resourcemanager.v3.Project"


def _project(call: Call, project: Project) -> dict[str, Any]:
    return {
        "name": f"projects/{project.number}",
        "projectId": project.project_id,
        "state": call.enum({"ACTIVE": 1}, "ACTIVE"),
        "displayName": project.project_id,
        "labels": dict(project.labels),
    }


def get_project(call: Call) -> dict[str, Any]:
    return _project(call, call.required_project())


def patch_project(call: Call) -> dict[str, Any]:
    project = call.required_project()
    mask = [m.strip() for m in call.query.get("updateMask", "").split(",") if m.strip()]
    if mask != ["labels"]:
        raise invalid_argument(f"Invalid update mask {','.join(mask)!r}: only 'labels' is served")
    labels = call.body_object("labels")
    if len(labels) > 64:
        raise invalid_argument("A project may have at most 64 labels")
    for key, value in labels.items():
        if not _KEY.match(key):
            raise invalid_argument(f"Invalid label key {key!r}")
        if not isinstance(value, str) or not _VALUE.match(value):
            raise invalid_argument(f"Invalid value for label {key!r}: {value!r}")
    project.labels = dict(labels)
    response = {"@type": _PROJECT_TYPE, **_project(call, project)}
    return start_operation(call, "cloudresourcemanager", "cp", project, response, done=True)


ROUTES = [
    route("GET", "/v3/projects/{project}", "cloudresourcemanager.projects.get", get_project),
    route("PATCH", "/v3/projects/{project}", "cloudresourcemanager.projects.patch", patch_project),
    operation_route("cloudresourcemanager", "v3", "cloudresourcemanager.operations.get"),
    route("POST", "/v3/projects/{project}:testIamPermissions", _METHOD, check_permissions),
    route("POST", "/v1/projects/{project}:testIamPermissions", _METHOD, check_permissions),
]
