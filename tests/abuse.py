"""Abuse-event log entries as a Pub/Sub log sink delivers them (``functions/leakevent.py`` has
the shape and its sources), for the leaked-key tests and the demo."""

from __future__ import annotations

import json
from typing import Any

from functions.leakevent import LOG_ID, PAYLOAD_TYPE, RESOURCE_TYPE

__all__ = ["entry", "sink_attributes"]


def entry(
    project: str,
    api_key: str,
    *,
    log_id: str = LOG_ID,
    detection: str = "LEAKED_CREDENTIALS",
    payload_type: str = PAYLOAD_TYPE,
    insert_id: str = "1x2y3z4a5b6c",
) -> dict[str, Any]:
    """One LogEntry (JSON) of a leaked API key in ``project``."""
    return {
        "insertId": insert_id,
        "logName": f"projects/{project}/logs/{log_id}",
        "resource": {
            "type": RESOURCE_TYPE,
            "labels": {"resource_container": project, "location": "global"},
        },
        "severity": "CRITICAL",
        "timestamp": "2026-12-01T18:04:11.512Z",
        "receiveTimestamp": "2026-12-01T18:04:12.020Z",
        "jsonPayload": {
            "@type": payload_type,
            "detectionType": detection,
            "reason": "Publicly accessible API key found on the internet.",
            "action": "NOTIFY",
            "remediationLink": "https://cloud.google.com/docs/authentication/api-keys",
            "leakedCredentialEvent": {
                "apiKeyCredential": {"apiKey": api_key},
                "detectedUri": "https://github.com/example/app/blob/main/src/config.js",
            },
        },
    }


def sink_attributes() -> dict[str, str]:
    """The attribute a Cloud Logging sink sets on the messages it publishes."""
    return {"logging.googleapis.com/timestamp": "2026-12-01T18:04:11.512Z"}


def data(log_entry: dict[str, Any]) -> bytes:
    return json.dumps(log_entry).encode()
