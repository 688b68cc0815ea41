"""Admin endpoint for simulations: bulk Gemini traffic (the clock is ``/_standin/clock``).

``POST /_standin/gemini/traffic`` with ``{"key": KEY STRING, "model", "input_tokens",
"output_tokens", "requests": N}``: N alike requests in the current minute of the stand-in's
clock, answered by the same rules as ``generateContent`` ->
``{"accepted", "refused", "error": Google's error body or null}``.
"""

from __future__ import annotations

from typing import Any

from standin.errors import invalid_argument
from standin.gemini import Shape
from standin.state import World

__all__ = ["traffic"]


def _int(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise invalid_argument(f"{name}: a non-negative integer is required")
    return value


def traffic(world: World, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("key"), str):
        raise invalid_argument("key: the API key string is required")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_argument("model: required")
    shape = Shape(model, _int(body, "input_tokens"), _int(body, "output_tokens"))
    with world.lock:
        admission = world.gemini.admit(world.projects, body["key"], shape, _int(body, "requests"))
    return {
        "accepted": admission.accepted,
        "refused": admission.refused,
        "error": None if admission.error is None else admission.error.body(),
    }
