"""Fresh identifiers, timestamps and fake key strings of the shapes Google hands out."""

from __future__ import annotations

import base64
import secrets
import string
import uuid
from datetime import UTC, datetime

__all__ = ["new_etag", "new_key_string", "new_operation_name", "new_uid", "now_rfc3339"]

_KEY_ALPHABET = string.ascii_letters + string.digits + "-_"


def now_rfc3339() -> str:
    """Current UTC time as Google writes timestamps: ``2025-03-14T09:26:53.589793Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_uid() -> str:
    """A UUID4 string, as used for API key ``uid`` and operation suffixes."""
    return str(uuid.uuid4())


def new_etag() -> str:
    """A weak etag like the API Keys API returns: ``W/"base64=="``."""
    return 'W/"' + base64.b64encode(secrets.token_bytes(16)).decode() + '"'


def new_key_string(*, auth_key: bool) -> str:
    """A random key string: ``AQ.`` + 53 characters for auth keys, ``AIza`` + 35 otherwise."""
    if auth_key:
        return "AQ.Ab8RN6" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(47))
    return "AIzaSy" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(33))


def new_operation_name(prefix: str, project_number: str) -> str:
    """``operations/{prefix}.p{n}-{number}-{uuid}`` (e.g. ``akmf.p7``, ``acat.p2``)."""
    return f"operations/{prefix}-{project_number}-{new_uid()}"
