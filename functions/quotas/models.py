"""Max output tokens per request from the Gemini API's ``models.get`` (``outputTokenLimit``).

Optional: only with ``GEMINI_API_KEY`` set (a key for the Gemini API; it is sent in the
``x-goog-api-key`` header, never logged or printed), and only what answers within a few seconds.
Anything else leaves the model out, so the caller falls back to the price table's dated value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

__all__ = ["ENDPOINT", "output_token_limits"]

ENDPOINT = "https://generativelanguage.googleapis.com/v1beta/models/"
ENV_KEY = "GEMINI_API_KEY"


def output_token_limits(models: Iterable[str], timeout: float = 5.0) -> dict[str, int]:
    """model -> outputTokenLimit for those models.get answers."""
    key = os.environ.get(ENV_KEY)
    if not key:
        return {}
    import requests

    found = {}
    base = os.environ.get("BUDGET_GUARD_GEMINI_ENDPOINT", ENDPOINT)
    for model in models:
        try:
            answer = requests.get(base + model, headers={"x-goog-api-key": key}, timeout=timeout)
            limit = answer.json().get("outputTokenLimit") if answer.ok else None
        except (requests.RequestException, ValueError):
            limit = None
        if isinstance(limit, int) and limit > 0:
            found[model] = limit
    return found
