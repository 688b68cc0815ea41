"""The guard's other inputs at simulated times, in the wire shapes their triggers deliver.

- ``tick_event``: a Cloud Scheduler job's Pub/Sub message on the watchdog's topic; its
  ``publishTime`` is the tick's simulated time (the watchdog's "now").
- ``abuse_event``: a Cloud Logging sink's Pub/Sub message carrying one abuse-event LogEntry
  (``LEAKED_CREDENTIALS``, shape in ``functions/leakevent.py``, USAGE.md §6) at the scenario's
  detection time. Whether ``apiKeyCredential.apiKey`` holds the key string or its id is open
  (USAGE.md §8); the simulation sends the string, which the handler matches in constant time.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from functions.alerts import cloud_event
from functions.leakevent import LOG_ID, PAYLOAD_TYPE, RESOURCE_TYPE
from standin.clock import rfc3339

__all__ = ["abuse_event", "tick_event"]


def tick_event(at: datetime) -> Any:
    """One watchdog tick published at ``at``."""
    stamp = rfc3339(at)
    message = {
        "data": base64.b64encode(b"tick").decode(),
        "attributes": {},
        "messageId": f"tick-{stamp}",
        "publishTime": stamp,
    }
    return cloud_event(message)


def abuse_event(project: str, api_key: str, at: datetime, message_id: str) -> Any:
    """Google's LEAKED_CREDENTIALS abuse event for ``api_key``, logged at ``at``."""
    stamp = rfc3339(at)
    entry = {
        "insertId": message_id,
        "logName": f"projects/{project}/logs/{LOG_ID}",
        "resource": {
            "type": RESOURCE_TYPE,
            "labels": {"resource_container": project, "location": "global"},
        },
        "severity": "CRITICAL",
        "timestamp": stamp,
        "receiveTimestamp": stamp,
        "jsonPayload": {
            "@type": PAYLOAD_TYPE,
            "detectionType": "LEAKED_CREDENTIALS",
            "reason": "Publicly accessible API key found on the internet.",
            "action": "NOTIFY",
            "remediationLink": "https://cloud.google.com/docs/authentication/api-keys",
            "leakedCredentialEvent": {
                "apiKeyCredential": {"apiKey": api_key},
                "detectedUri": "https://github.com/example/app/blob/main/src/config.js",
            },
        },
    }
    message = {
        "data": base64.b64encode(json.dumps(entry).encode()).decode(),
        "attributes": {"logging.googleapis.com/timestamp": stamp},
        "messageId": message_id,
        "publishTime": stamp,
    }
    return cloud_event(message)
