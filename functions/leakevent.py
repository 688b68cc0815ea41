"""A ``LEAKED_CREDENTIALS`` abuse event, as a Pub/Sub log sink delivers it: parse and verify. Pure.

Google writes abuse events to the project's log ``abuseevent.googleapis.com%2Fabuse_events``
(docs.cloud.google.com/logging/docs/api/platform-logs); a ``google_logging_project_sink`` routes
them to a topic, whose messages carry one ``LogEntry`` as JSON in ``data``. The payload is the
``google.cloud.abuseevent.logging.v1.AbuseEvent`` proto (googleapis
``google/cloud/abuseevent/logging/v1/abuse_event.proto``) in JSON::

    {"logName": "projects/P/logs/abuseevent.googleapis.com%2Fabuse_events",
     "resource": {"type": "abuseevent.googleapis.com/Location", "labels": {...}},
     "severity": "CRITICAL", "timestamp": "...", "insertId": "...",
     "jsonPayload": {"@type": "type.googleapis.com/google.cloud.abuseevent.logging.v1.AbuseEvent",
                     "detectionType": "LEAKED_CREDENTIALS", "reason": "...", "action": "NOTIFY",
                     "remediationLink": "...",
                     "leakedCredentialEvent": {"apiKeyCredential": {"apiKey": "..."},
                                               "detectedUri": "https://..."}}}

``apiKeyCredential.apiKey`` is documented only as "API key that was leaked"; Google's e-mail for
the same finding quotes the key string. So it is treated as possibly the key string: it is
never logged or recorded (only ``fingerprint``, a short SHA-256), and it is matched against a
key's ``uid``, key id or resource name when it is one, else against the key strings.

Errors: ``MalformedMessage`` (not a log entry of this shape), ``SpoofedMessage`` (a well-formed
entry the guard must not act on: another project, a foreign log name or payload type),
``RejectedMessage`` (a genuine event that is not about an API key: a leaked service-account
key). The reason never holds the ``apiKey`` value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from functions.errors import MalformedMessage, RejectedMessage, SpoofedMessage
from functions.redact import redact_text

__all__ = [
    "LOG_ID",
    "PAYLOAD_TYPE",
    "RESOURCE_TYPE",
    "LeakEvent",
    "fingerprint",
    "looks_like_key_string",
    "parse_entry",
    "parse_message",
]

LOG_ID = "abuseevent.googleapis.com%2Fabuse_events"
RESOURCE_TYPE = "abuseevent.googleapis.com/Location"
PAYLOAD_TYPE = "type.googleapis.com/google.cloud.abuseevent.logging.v1.AbuseEvent"
DETECTION = "LEAKED_CREDENTIALS"
MAX_DATA_BYTES = 64 * 1024
_LOG_NAME = re.compile(r"projects/([a-z][a-z0-9-]{4,28}[a-z0-9])/logs/(.+)")
_KEY_STRING = re.compile(r"AIza[0-9A-Za-z_\-]{35}|AQ\.[0-9A-Za-z_\-.]{16,}")


@dataclass(frozen=True)
class LeakEvent:
    """A verified leaked-API-key event. ``api_key`` may be the key string: never log it."""

    project: str
    api_key: str
    detected_uri: str
    action: str
    insert_id: str
    timestamp: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.api_key)

    def __repr__(self) -> str:  # never the api_key
        return f"LeakEvent(project={self.project!r}, key={self.fingerprint})"


def fingerprint(value: str) -> str:
    """What the logs say instead of the named key: ``sha256:`` and 12 hex digits."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def looks_like_key_string(value: str) -> bool:
    return bool(_KEY_STRING.fullmatch(value))


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


def _text(obj: Any, path: str, *, required: bool = True) -> str:
    value = _get(obj, path)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise MalformedMessage(f"{path}: must be a non-empty string")
    return value


def parse_entry(entry: Any, guarded: Collection[str]) -> LeakEvent:
    """Verify one LogEntry (decoded JSON) against the guarded projects."""
    if not isinstance(entry, Mapping):
        raise MalformedMessage("the message data is not a JSON object (a LogEntry)")
    match = _LOG_NAME.fullmatch(_text(entry, "logName"))
    if match is None:
        raise MalformedMessage("logName: not projects/PROJECT/logs/LOG_ID")
    project, log_id = match.groups()
    if log_id != LOG_ID:
        raise SpoofedMessage(f"logName: log {log_id!r} is not {LOG_ID}")
    if project not in guarded:
        raise SpoofedMessage(f"logName: project {project} is not a guarded project")
    if _text(entry, "resource.type") != RESOURCE_TYPE:
        raise SpoofedMessage(f"resource.type: not {RESOURCE_TYPE}")
    payload = _get(entry, "jsonPayload")
    if not isinstance(payload, Mapping):
        raise MalformedMessage("jsonPayload: must be an object (an AbuseEvent)")
    if payload.get("@type") != PAYLOAD_TYPE:
        raise SpoofedMessage(f"jsonPayload.@type: not {PAYLOAD_TYPE}")
    if payload.get("detectionType") != DETECTION:
        raise SpoofedMessage(f"jsonPayload.detectionType: not {DETECTION}")
    if _get(payload, "leakedCredentialEvent.serviceAccountCredential") is not None:
        raise RejectedMessage(
            "a leaked service-account key, not an API key: nothing for the guard to revoke "
            "(see the entry's remediationLink)"
        )
    api_key = _get(payload, "leakedCredentialEvent.apiKeyCredential.apiKey")
    if not isinstance(api_key, str) or not api_key.strip():
        raise MalformedMessage(
            "jsonPayload.leakedCredentialEvent.apiKeyCredential.apiKey: must name the key"
        )
    return LeakEvent(
        project=project,
        api_key=api_key.strip(),
        detected_uri=redact_text(
            _text(payload, "leakedCredentialEvent.detectedUri", required=False)
        )[:500],
        action=_text(payload, "action", required=False)[:40],
        insert_id=_text(entry, "insertId", required=False)[:128],
        timestamp=_text(entry, "timestamp", required=False)[:40],
    )


def parse_message(message: Mapping[str, Any], guarded: Collection[str]) -> LeakEvent:
    """Verify a Pub/Sub message (``data`` base64 LogEntry JSON) from the sink's topic."""
    data = message.get("data")
    if not isinstance(data, str) or not data:
        raise MalformedMessage("message.data: missing")
    if len(data) > MAX_DATA_BYTES * 4 // 3 + 4:
        raise MalformedMessage(f"message.data: over {MAX_DATA_BYTES} bytes")
    try:
        entry = json.loads(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: nested too deep
        raise MalformedMessage("message.data: not base64 JSON") from None
    return parse_entry(entry, guarded)
