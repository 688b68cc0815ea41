"""Service Usage v1: ``services.get``/``disable``/``enable`` and ``operations.get``.

Any well-formed service name answers ``get`` (``DISABLED`` unless the project lists it enabled).
``disable`` of a service named in the project's ``disable_blocked`` answers 400
FAILED_PRECONDITION with the seed's reason; otherwise the state changes at once and the answer is
an operation that is done on its first poll (response ``DisableServiceResponse``).
"""

from __future__ import annotations

import re
from typing import Any

from standin.apis.operations import operation_route, start_operation
from standin.call import Call
from standin.errors import failed_precondition, invalid_argument
from standin.model import Project
from standin.routing import route

__all__ = ["ROUTES", "SERVICE_STATE", "TITLES"]

#: google.api.serviceusage.v1.State, for ``$alt=json;enum-encoding=int``.
SERVICE_STATE = {"STATE_UNSPECIFIED": 0, "DISABLED": 1, "ENABLED": 2}
TITLES = {
    "generativelanguage.googleapis.com": "Generative Language API",
    "aiplatform.googleapis.com": "Vertex AI API",
    "maps-backend.googleapis.com": "Maps JavaScript API",
    "apikeys.googleapis.com": "API Keys API",
    "cloudbilling.googleapis.com": "Cloud Billing API",
    "secretmanager.googleapis.com": "Secret Manager API",
    "compute.googleapis.com": "Compute Engine API",
}
_SERVICE_NAME = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
_TYPE = "type.googleapis.com/google.api.serviceusage.v1."
_SERVICE = "/v1/projects/{project}/services/{service}"


def _service_json(call: Call, project: Project, service: str, *, as_enum: bool) -> dict[str, Any]:
    state = project.services.get(service, "DISABLED")
    return {
        "name": f"projects/{project.number}/services/{service}",
        "parent": f"projects/{project.number}",
        "config": {"name": service, "title": TITLES.get(service, service)},
        "state": call.enum(SERVICE_STATE, state) if as_enum else state,
    }


def _service_name(call: Call) -> str:
    service = call.params["service"]
    if not _SERVICE_NAME.match(service):
        raise invalid_argument(f"Invalid service name: {service!r}")
    return service


def get_service(call: Call) -> dict[str, Any]:
    return _service_json(call, call.required_project(), _service_name(call), as_enum=True)


def _set_state(call: Call, state: str, response_type: str, prefix: str) -> dict[str, Any]:
    project, service = call.required_project(), _service_name(call)
    project.services[service] = state
    response = {
        "@type": _TYPE + response_type,
        "service": _service_json(call, project, service, as_enum=False),
    }
    metadata = {
        "@type": _TYPE + "OperationMetadata",
        "resourceNames": [f"services/{service}/projectSettings/{project.number}"],
    }
    return start_operation(
        call, "serviceusage", prefix, project, response, done=False, metadata=metadata
    )


def disable_service(call: Call) -> dict[str, Any]:
    project, service = call.required_project(), _service_name(call)
    reason = project.disable_blocked.get(service)
    if reason is not None:
        raise failed_precondition(reason)
    return _set_state(call, "DISABLED", "DisableServiceResponse", "acat.p2")


def enable_service(call: Call) -> dict[str, Any]:
    return _set_state(call, "ENABLED", "EnableServiceResponse", "acf.p2")


ROUTES = [
    route("GET", _SERVICE, "serviceusage.services.get", get_service),
    route("POST", _SERVICE + ":disable", "serviceusage.services.disable", disable_service),
    route("POST", _SERVICE + ":enable", "serviceusage.services.enable", enable_service),
    operation_route("serviceusage", "v1", "serviceusage.operations.get"),
]
