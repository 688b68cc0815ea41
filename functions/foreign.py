"""Foreign messages: well-known non-budget notifications that share the guard's alerts topic.

Owns one question: is a message the budget parser rejected as malformed a known *other* kind of
notification? Teams often point several producers at one "billing alerts" topic; those messages
are not attacks, so they are logged once at INFO (``not a budget notification: <kind>``) instead of
a WARNING "malformed". Recognition never makes the guard act: it only changes the log line.

Kinds, as a table of (kind, test on the decoded message):

- ``cloud monitoring incident``: a Cloud Monitoring Pub/Sub notification channel's payload, a JSON
  object with an ``incident`` object holding ``incident_id`` and ``state`` (schema version 1.2:
  cloud.google.com/monitoring/support/notification-options#pubsub).
- ``cost anomaly``: a Cloud Billing cost-anomaly notification (Preview,
  cloud.google.com/billing/docs/how-to/notify): no ``budgetId`` attribute, and an attribute or
  top-level data key naming an anomaly. Its exact schema is not published in a form this project
  could verify, so the test is deliberately loose and the guard never acts on it.

Pure functions, no I/O; anything undecodable is simply not recognized.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from functions.errors import MalformedMessage
from functions.notification import decode_data, from_cloud_event

__all__ = ["KINDS", "recognize"]

_ANOMALY = re.compile(r"anomal", re.IGNORECASE)


def _incident(attributes: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    incident = data.get("incident")
    return (
        isinstance(incident, Mapping)
        and isinstance(incident.get("incident_id"), str)
        and isinstance(incident.get("state"), str)
    )


def _anomaly(attributes: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    if "budgetId" in attributes:
        return False
    return any(isinstance(k, str) and _ANOMALY.search(k) for k in (*attributes, *data))


KINDS: tuple[tuple[str, Callable[[Mapping[str, Any], Mapping[str, Any]], bool]], ...] = (
    ("cloud monitoring incident", _incident),
    ("cost anomaly", _anomaly),
)


def recognize(cloud_event: Any) -> str | None:
    """The kind of foreign notification ``cloud_event`` carries, or None if it is none we know."""
    try:
        message = from_cloud_event(cloud_event)
        data = decode_data(message.get("data"))
    except MalformedMessage:
        return None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        return None
    for kind, test in KINDS:
        if test(attributes, data):
            return kind
    return None
