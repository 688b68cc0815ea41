"""Foreign messages: well-known non-budget notifications that share the guard's alerts topic.

Owns one question: is a message the budget parser rejected as malformed a known *other* kind of
notification? Teams often point several producers at one "billing alerts" topic; those messages
are not attacks, so they are logged once at INFO (``not a budget notification: <kind>``) instead of
a WARNING "malformed". Recognition never makes the guard act: it only changes the log line.

Kinds, as a table of (kind, test on the decoded message):

- ``cloud monitoring incident``: a Cloud Monitoring Pub/Sub notification channel's payload, a JSON
  object with an ``incident`` object holding ``incident_id`` and ``state`` (schema version 1.2:
  cloud.google.com/monitoring/support/notification-options#pubsub).
- ``cost anomaly``: a Cloud Billing cost-anomaly notification (Preview; format in
  cloud.google.com/billing/docs/how-to/budgets-programmatic-notifications#notification-format,
  seen here only second-hand: ``anomalyName`` "billingAccounts/A/anomalies/ID",
  ``billingAccountName``, ``resourceName`` "projects/NUMBER", ``resourceDisplayName``,
  ``detectionDate``, ``expectedSpendAmount`` {currencyCode, units, nanos}, ``actualSpendAmount``,
  ``deviationAmount``, ``deviationPercentage``): no ``budgetId`` attribute, and an attribute or
  top-level data key naming an anomaly. The test is deliberately loose; nothing acts on it.

Each kind names the fields (at most ``MAX_FIELD`` characters each) its INFO line carries, so an
operator can find the incident or anomaly. Pure functions, no I/O; anything undecodable is
simply not recognized.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from functions.errors import MalformedMessage
from functions.notification import decode_data, from_cloud_event

__all__ = ["KINDS", "Foreign", "recognize"]

_ANOMALY = re.compile(r"anomal", re.IGNORECASE)
MAX_FIELD = 200


@dataclass(frozen=True)
class Foreign:
    """A recognized foreign notification: its kind and the identifying fields it carried."""

    kind: str
    fields: dict[str, str]


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


Test = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]

# kind -> (test on (attributes, data), data fields reported: dotted paths)
KINDS: dict[str, tuple[Test, tuple[str, ...]]] = {
    "cloud monitoring incident": (
        _incident,
        ("incident.incident_id", "incident.policy_name", "incident.state"),
    ),
    "cost anomaly": (_anomaly, ("anomalyName", "resourceName", "resourceDisplayName")),
}


def _field(data: Mapping[str, Any], path: str) -> str | None:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node[:MAX_FIELD] if isinstance(node, str) else None


def recognize(cloud_event: Any) -> Foreign | None:
    """The foreign notification ``cloud_event`` carries, or None if it is none we know."""
    try:
        message = from_cloud_event(cloud_event)
        data = decode_data(message.get("data"))
    except MalformedMessage:
        return None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        return None
    for kind, (test, paths) in KINDS.items():
        if test(attributes, data):
            found = {p.rsplit(".", 1)[-1]: _field(data, p) for p in paths}
            return Foreign(kind, {k: v for k, v in found.items() if v is not None})
    return None
