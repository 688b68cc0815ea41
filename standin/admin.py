"""Test-side control over HTTP, under ``/_standin/``.

``GET /_standin/state`` answers the whole world in seed format, key strings and secret payloads
included (a test tool: never expose it beyond 127.0.0.1). ``PUT /_standin/state`` replaces it and
clears faults and calls. ``GET|POST|DELETE /_standin/faults`` lists, adds, clears fault rules.
``GET /_standin/calls[?method=ID]`` answers the call log; ``DELETE /_standin/calls`` clears it.
Monitoring's points, scopes and delays and the clock: :mod:`standin.monitoring.admin`.
"""

from __future__ import annotations

from typing import Any

from standin import admin_gemini
from standin.apis.quotas import effective_quotas, grant_pending
from standin.backend import Backend
from standin.errors import ApiError, invalid_argument, json_payload, not_found
from standin.faults import parse_rule
from standin.model import SeedError
from standin.monitoring import admin as monitoring_admin

__all__ = ["ADMIN_PREFIX", "handle_admin"]

ADMIN_PREFIX = "/_standin/"


def _state(backend: Backend, http: str, raw: bytes) -> Any:
    if http == "GET":
        return backend.world.to_seed()
    try:
        backend.load(json_payload(raw))
    except SeedError as error:
        raise invalid_argument(str(error)) from None
    return {}


def _faults(backend: Backend, http: str, raw: bytes) -> Any:
    if http == "GET":
        return {"faults": backend.faults.rules()}
    if http == "DELETE":
        backend.faults.clear()
        return {}
    try:
        rule = parse_rule(json_payload(raw))
    except ValueError as error:
        raise invalid_argument(str(error)) from None
    backend.faults.add(rule)
    return rule.to_json()


def _calls(backend: Backend, http: str, query: dict[str, str]) -> Any:
    if http == "DELETE":
        backend.calls.clear()
        return {}
    return backend.calls.entries(query.get("method"))


def _quotas(backend: Backend, http: str, query: dict[str, str]) -> Any:
    project = query.get("project", "")
    if not project:
        raise invalid_argument("quotas: ?project=PROJECT_ID is required")
    if http == "POST":
        return {"granted": grant_pending(backend.world, project)}
    found = effective_quotas(backend.world, project)
    if "quotaId" in query:
        found = {k: v for k, v in found.items() if k == query["quotaId"]}
    if "model" in query:
        found = {k: {m: n for m, n in v.items() if m == query["model"]} for k, v in found.items()}
    return {"project": project, "quotas": found}


_ENDPOINTS = {
    "state": ("GET", "PUT"),
    "faults": ("GET", "POST", "DELETE"),
    "calls": ("GET", "DELETE"),
    "gemini/traffic": ("POST",),
    "quotas": ("GET", "POST"),
}


def handle_admin(
    backend: Backend, http: str, path: str, query: dict[str, str], raw: bytes
) -> tuple[int, Any]:
    """Status and JSON body for an admin request."""
    name = path.removeprefix(ADMIN_PREFIX).strip("/")
    try:
        if name in monitoring_admin.ENDPOINTS:
            return 200, monitoring_admin.handle(backend, http, name, query, raw)
        if http not in _ENDPOINTS.get(name, ()):
            raise not_found(f"No admin endpoint {http} {path}")
        if name == "state":
            return 200, _state(backend, http, raw)
        if name == "faults":
            return 200, _faults(backend, http, raw)
        if name == "gemini/traffic":
            return 200, admin_gemini.traffic(backend.world, json_payload(raw))
        if name == "quotas":
            return 200, _quotas(backend, http, query)
        return 200, _calls(backend, http, query)
    except ApiError as error:
        return error.code, error.body()
