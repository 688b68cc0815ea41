"""Cloud Billing v1: ``projects.getBillingInfo`` and ``projects.updateBillingInfo``.

An unknown project answers 403 PERMISSION_DENIED (like every other API here, and like Google for a
project the caller cannot see), not 404. A locked billing link refuses every update with
400 FAILED_PRECONDITION. The gapic client sends ``{}`` to unlink (proto3 drops the empty name).
"""

from __future__ import annotations

import re
from typing import Any

from standin.call import Call
from standin.errors import failed_precondition, invalid_argument
from standin.model import Project
from standin.routing import route

__all__ = ["ROUTES"]

_ACCOUNT = re.compile(r"^billingAccounts/[0-9A-Fa-f]{6}-[0-9A-Fa-f]{6}-[0-9A-Fa-f]{6}$")


def _info(project: Project) -> dict[str, Any]:
    return {
        "name": f"projects/{project.project_id}/billingInfo",
        "projectId": project.project_id,
        "billingAccountName": project.billing_account,
        "billingEnabled": bool(project.billing_account),
    }


def get_billing_info(call: Call) -> dict[str, Any]:
    return _info(call.required_project())


def update_billing_info(call: Call) -> dict[str, Any]:
    project = call.required_project()
    account = call.body_string("billingAccountName")
    if account and not _ACCOUNT.match(account):
        raise invalid_argument(f"Invalid billing account name: {account!r}")
    if project.billing_locked:
        raise failed_precondition("billing account link is locked")
    project.billing_account = account
    return _info(project)


ROUTES = [
    route(
        "GET",
        "/v1/projects/{project}/billingInfo",
        "cloudbilling.projects.getBillingInfo",
        get_billing_info,
    ),
    route(
        "PUT",
        "/v1/projects/{project}/billingInfo",
        "cloudbilling.projects.updateBillingInfo",
        update_billing_info,
    ),
]
