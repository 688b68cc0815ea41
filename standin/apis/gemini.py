"""Gemini API v1beta ``models.generateContent`` (REST), answered by :mod:`standin.gemini`.

``POST /v1beta/models/{model}:generateContent`` with the key in the ``x-goog-api-key`` header or
the ``key`` query parameter. Token counts are the stand-in's own, deterministic: a prompt costs
one token per 4 characters of text (at least 1), the answer ``generationConfig.maxOutputTokens``
tokens (64 when unset). The reply text is a fixed placeholder; ``usageMetadata`` carries the
counts Google reports. Refusals are Google's error bodies (see :mod:`standin.gemini`).
"""

from __future__ import annotations

from typing import Any

from standin.call import Call
from standin.errors import invalid_argument
from standin.gemini import Shape
from standin.routing import route

__all__ = ["ROUTES", "shape_of"]

DEFAULT_OUTPUT_TOKENS = 64


def _prompt_tokens(body: dict[str, Any]) -> int:
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise invalid_argument("* GenerateContentRequest.contents: contents is not specified")
    chars = 0
    for content in contents:
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            text = part.get("text") if isinstance(part, dict) else None
            chars += len(text) if isinstance(text, str) else 0
    return max(1, chars // 4)


def shape_of(model: str, body: dict[str, Any]) -> Shape:
    """The request's model and token counts, as the stand-in counts them."""
    config = body.get("generationConfig") or {}
    out = config.get("maxOutputTokens", DEFAULT_OUTPUT_TOKENS) if isinstance(config, dict) else 0
    if not isinstance(out, int) or isinstance(out, bool) or out < 1:
        raise invalid_argument("* GenerateContentRequest.generation_config.max_output_tokens")
    return Shape(model.removeprefix("models/"), _prompt_tokens(body), out)


def generate_content(call: Call) -> dict[str, Any]:
    key = call.headers.get("x-goog-api-key") or call.query.get("key", "")
    shape = shape_of(call.params["model"], call.body)
    admission = call.world.gemini.admit(call.world.projects, key, shape)
    if admission.error is not None:
        raise admission.error
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": "(stand-in answer)"}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": shape.input_tokens,
            "candidatesTokenCount": shape.output_tokens,
            "totalTokenCount": shape.input_tokens + shape.output_tokens,
        },
        "modelVersion": shape.model,
    }


ROUTES = (
    route(
        "POST",
        "/v1beta/models/{model}:generateContent",
        "generativelanguage.models.generateContent",
        generate_content,
        resource="models/{model}",
        project_required=False,
    ),
)
