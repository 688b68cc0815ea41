"""Admin endpoints for Monitoring and the clock, under ``/_standin/``.

- ``GET /_standin/monitoring``: the Monitoring section in seed format (points, scopes, delays).
- ``POST /_standin/monitoring/points`` ``{"points": [point, ...]}`` (or a bare list): write them,
  all or none (400 naming the bad field); answers ``{"written": N}``.
  ``GET …/points[?metric=TYPE&project=ID]`` reads them back; ``DELETE`` removes them all.
- ``POST /_standin/monitoring/gemini`` ``{"calls": [{"project", "model", "minute",
  "input_tokens", "output_tokens", "requests", "key_uid", "tier", "response_code"}]}``: what
  Monitoring records for those Gemini calls (:mod:`standin.monitoring.gemini`), added.
- ``POST /_standin/monitoring/scopes`` ``{host: [project, ...]}``; ``POST …/delays``
  ``{type prefix: seconds}``; both add to (or replace entries of) what is there.
- ``GET /_standin/clock``; ``POST /_standin/clock`` ``{"now": RFC3339[, "running": true]}`` or
  ``{"offset_seconds": N}``; ``DELETE /_standin/clock`` returns to real time.
"""

from __future__ import annotations

from typing import Any

from standin.backend import Backend
from standin.clock import parse_time
from standin.errors import invalid_argument, json_payload, not_found
from standin.model import SeedError

__all__ = ["ENDPOINTS", "handle"]

ENDPOINTS: dict[str, tuple[str, ...]] = {
    "monitoring": ("GET",),
    "monitoring/points": ("GET", "POST", "DELETE"),
    "monitoring/scopes": ("POST",),
    "monitoring/delays": ("POST",),
    "monitoring/gemini": ("POST",),
    "clock": ("GET", "POST", "DELETE"),
}


def _clock(backend: Backend, http: str, body: Any) -> Any:
    if http == "DELETE":
        backend.clock.reset()
    elif http == "POST":
        keys = set(body) if isinstance(body, dict) else set()
        if "now" in keys and keys <= {"now", "running"}:
            backend.clock.set(parse_time(body["now"], "now"), running=bool(body.get("running")))
        elif keys == {"offset_seconds"} and isinstance(body["offset_seconds"], (int, float)):
            backend.clock.set_offset(float(body["offset_seconds"]))
        else:
            raise invalid_argument(
                'clock: {"now": RFC3339[, "running": bool]} or {"offset_seconds": N}'
            )
    return backend.clock.to_json()


def _gemini(call: dict[str, Any]) -> list[dict[str, Any]]:
    from standin.monitoring.gemini import gemini_points

    usage = {k: v for k, v in call.items() if k not in ("project", "model", "minute")}
    try:
        return gemini_points(str(call["project"]), str(call["model"]), str(call["minute"]), **usage)
    except (KeyError, TypeError) as error:
        raise invalid_argument(f"monitoring/gemini: bad call {call!r}: {error}") from None


def handle(backend: Backend, http: str, name: str, query: dict[str, str], raw: bytes) -> Any:
    """The JSON answer of one admin call; raises ApiError (400/404)."""
    if http not in ENDPOINTS.get(name, ()):
        raise not_found(f"No admin endpoint {http} /_standin/{name}")
    body = json_payload(raw) if http == "POST" else None
    monitoring = backend.world.monitoring
    try:
        if name == "clock":
            return _clock(backend, http, body)
        if name == "monitoring":
            return monitoring.to_seed()
        if name == "monitoring/scopes":
            monitoring.set_scopes(body)
            return {"scopes": monitoring.to_seed()["scopes"]}
        if name == "monitoring/gemini":
            calls = body.get("calls") if isinstance(body, dict) else None
            if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
                raise invalid_argument('monitoring/gemini: {"calls": [{"project", "model", ...}]}')
            recorded = [p for c in calls for p in _gemini(c)]
            return {"written": monitoring.write(recorded)}
        if name == "monitoring/delays":
            monitoring.set_delays(body)
            return {"delays": dict(monitoring.delays)}
        if http == "GET":
            return {"points": monitoring.points_json(query.get("metric"), query.get("project"))}
        if http == "DELETE":
            monitoring.clear_points()
            return {}
        given = body.get("points") if isinstance(body, dict) else body
        return {"written": monitoring.write(given)}
    except (SeedError, ValueError) as error:
        raise invalid_argument(str(error)) from None
