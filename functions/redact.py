"""Key strings never leave the guard: every log line, event, ledger record and error passes here."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["redact", "redact_text"]

# Standard API keys: "AIza" + 35 characters. Auth keys (bound to a service account): "AQ." + a
# long token. Matched wherever they appear, including inside URLs and JSON strings.
_KEY = re.compile(r"AIza[0-9A-Za-z_\-]{35}|AQ\.[0-9A-Za-z_\-.]{16,}")
_MASK = "[REDACTED]"


def redact_text(text: str) -> str:
    """Return ``text`` with every API key string replaced by a mask."""
    return _KEY.sub(_MASK, text)


def redact(value: Any) -> Any:
    """Redact key strings anywhere in a JSON-like value (dicts, lists, strings)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_text(str(k)): redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value
