"""The restore marker: a project label that says "an operator restored this project this period".

``budget-guard restore`` labels the project ``budget-guard-restored=<period>`` (the period start
in a label's alphabet: ``2026-11-01T07:00:00Z`` -> ``20261101t070000z``) before it puts anything
back, through Resource Manager v3 ``projects.patch`` (the operator needs
``resourcemanager.projects.update``). The guard reads it with ``projects.get``
(``resourcemanager.projects.get``, which every brake that may run without the ledger declares)
before it runs any brake without the ledger: a restore on record for the firing's period means no
ledger-less brake on that project. With the ledger, the restored crossings are latched ``done``
and the marker is not needed. A new period has another value: the brakes are armed again.

Errors: ``gcp.call``'s (TransientError, ActionFailed).
"""

from __future__ import annotations

import re
from typing import Any

from functions import gcp

__all__ = ["LABEL", "READ_PERMISSION", "WRITE_PERMISSION", "mark", "on_record", "read", "stamp"]

LABEL = "budget-guard-restored"
READ_PERMISSION = "resourcemanager.projects.get"
WRITE_PERMISSION = "resourcemanager.projects.update"
SERVICE, VERSION = "cloudresourcemanager", "v3"


def stamp(period: str) -> str:
    """The label value for ``period``: lower case, only letters and digits, at most 63."""
    return re.sub(r"[^a-z0-9]", "", period.lower())[:63]


def _project(project: str) -> dict[str, Any]:
    result: dict[str, Any] = gcp.call(
        f"read the labels of {project}",
        lambda: gcp.rest_call("GET", SERVICE, f"{VERSION}/projects/{project}"),
        {"PERMISSION_DENIED": f"grant {READ_PERMISSION} on projects/{project}"},
    )
    return result


def read(project: str) -> str | None:
    """The marker's value on ``project``, or None."""
    value = (_project(project).get("labels") or {}).get(LABEL)
    return value if isinstance(value, str) else None


def on_record(project: str, period: str) -> bool:
    """Whether a restore of ``project`` in ``period`` is on record."""
    return read(project) == stamp(period)


def mark(project: str, period: str) -> str:
    """Label ``project`` as restored in ``period`` (the operator's credentials); the value."""
    value = stamp(period)
    labels = {**(_project(project).get("labels") or {}), LABEL: value}
    operation = gcp.call(
        f"label {project} {LABEL}",
        lambda: gcp.rest_call(
            "PATCH",
            SERVICE,
            f"{VERSION}/projects/{project}",
            json={"labels": labels},
            updateMask="labels",
        ),
        {"PERMISSION_DENIED": f"you need {WRITE_PERMISSION} on projects/{project}"},
    )
    gcp.call(
        f"wait for the label on {project}",
        lambda: gcp.rest_wait(SERVICE, VERSION, operation),
    )
    return value
