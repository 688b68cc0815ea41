"""Resource Manager v1 and v3: ``projects.testIamPermissions``.

Answers the requested permissions the project's ``granted_permissions`` hold (all of them when it
is ``null``); omits ``permissions`` when none are held, as Google does.
"""

from __future__ import annotations

from typing import Any

from standin.call import Call
from standin.errors import invalid_argument
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


ROUTES = [
    route("POST", "/v3/projects/{project}:testIamPermissions", _METHOD, check_permissions),
    route("POST", "/v1/projects/{project}:testIamPermissions", _METHOD, check_permissions),
]
