"""Answer one API call: route it, apply faults and permissions, run its handler.

Independent of sockets: :func:`answer` returns an :class:`Outcome` the HTTP layer sends.
Order of checks: route (404) -> fault rule -> JSON body (400) -> project (403 when unknown) ->
``granted_permissions`` (403) -> handler.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from standin.call import Call
from standin.errors import STATUS_FOR_CODE, ApiError, invalid_argument, not_found, permission_denied
from standin.faults import FaultRule
from standin.permissions import required_permission
from standin.routes import ROUTES
from standin.routing import Route, match
from standin.state import World

__all__ = ["Outcome", "Request", "answer", "no_route", "route_request"]

_FAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    404: "Requested entity was not found.",
    409: "The operation was aborted.",
    429: "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "The request timed out. Please try again.",
}


@dataclass
class Request:
    """An API request as read off the wire."""

    http: str
    path: str
    query: dict[str, str]
    raw_body: bytes
    #: Every value of each query parameter (``ignoreSafetyChecks=1&ignoreSafetyChecks=2``).
    query_all: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Outcome:
    """What to send back: ``status`` and JSON ``body``."""

    status: int
    body: Any


def route_request(request: Request) -> tuple[Route, dict[str, str]] | None:
    """The route a request is for (``None``: no such REST method)."""
    return match(ROUTES, request.http, request.path)


def _body(raw: bytes) -> tuple[dict[str, Any], ApiError | None]:
    if not raw.strip():
        return {}, None
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return {}, invalid_argument("Invalid JSON payload received.")
    if not isinstance(body, dict):
        return {}, invalid_argument("Invalid JSON payload received: expected an object.")
    return body, None


def _fault_error(
    rule: FaultRule, route: Route, params: dict[str, str], body: dict[str, Any]
) -> ApiError:
    code = rule.http_code or 500
    if code == 403:
        return permission_denied(
            required_permission(route.method_id, body), route.resource.format(**params)
        )
    return ApiError(code, STATUS_FOR_CODE[code], _FAULT_MESSAGES.get(code, "Injected fault."))


def answer(
    world: World,
    route: Route,
    params: dict[str, str],
    request: Request,
    fault: FaultRule | None,
) -> Outcome:
    """The answer to a routed request; ``fault`` is an HTTP-code fault rule that fired, if any."""
    body, body_error = _body(request.raw_body)
    try:
        if fault is not None:
            raise _fault_error(fault, route, params, body)
        if body_error is not None:
            raise body_error
        with world.lock:
            ref = params.get("project") or (route.locate(world, params) if route.locate else None)
            project = world.project(ref) if ref else None
            permission = required_permission(route.method_id, body)
            resource = route.resource.format(**params)
            if project is None and route.project_required:
                raise permission_denied(permission, resource, may_not_exist=True)
            granted = None if project is None else project.granted_permissions
            if permission is not None and granted is not None and permission not in granted:
                raise permission_denied(permission, resource)
            call = Call(
                world=world,
                params=params,
                query=request.query,
                body=body,
                project=project,
                query_all=request.query_all,
            )
            return Outcome(200, route.handler(call))
    except ApiError as error:
        return Outcome(error.code, error.body())


def no_route(request: Request) -> Outcome:
    """404 for a path and verb no API here serves."""
    error = not_found(f"The requested URL {request.path} was not found on this server.")
    return Outcome(error.code, error.body())
