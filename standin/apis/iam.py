"""IAM v1: ``projects.serviceAccounts.testIamPermissions``, and who may act as an account.

Service accounts are not modelled as resources: an account's permissions are the
``granted_permissions`` of the project in its email (``ACCOUNT@PROJECT.iam.gserviceaccount.com``),
or, for an account of a project the world does not hold, of the project asking. ``act_as_granted``
is what API Keys' create checks before binding a key to an account.
"""

from __future__ import annotations

from typing import Any

from standin.call import Call
from standin.errors import invalid_argument
from standin.model import Project
from standin.permissions import ACT_AS_PERMISSION
from standin.routing import route
from standin.state import World

__all__ = ["ROUTES", "act_as_granted", "granted_on_account"]

_METHOD = "iam.projects.serviceAccounts.testIamPermissions"
_SA_DOMAIN = ".iam.gserviceaccount.com"


def _owner(world: World, account: str) -> Project | None:
    domain = account.partition("@")[2]
    return world.project(domain.split(".", 1)[0]) if domain.endswith(_SA_DOMAIN) else None


def granted_on_account(world: World, account: str, fallback: Project | None) -> list[str] | None:
    """The permissions held on ``account`` (None: all of them)."""
    owner = _owner(world, account) or fallback
    return None if owner is None else owner.granted_permissions


def act_as_granted(world: World, account: str, fallback: Project | None) -> bool:
    granted = granted_on_account(world, account, fallback)
    return granted is None or ACT_AS_PERMISSION in granted


def test_permissions(call: Call) -> dict[str, Any]:
    asked = call.body.get("permissions") or []
    if not isinstance(asked, list) or not all(isinstance(p, str) for p in asked):
        raise invalid_argument("Invalid value at 'permissions': expected a list of strings")
    granted = granted_on_account(call.world, call.params["account"], None)
    held = [p for p in asked if granted is None or p in granted]
    return {"permissions": held} if held else {}


ROUTES = [
    route(
        "POST",
        "/v1/projects/{project}/serviceAccounts/{account}:testIamPermissions",
        _METHOD,
        test_permissions,
        resource="projects/{project}/serviceAccounts/{account}",
        project_required=False,
    ),
]
