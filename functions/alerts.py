"""Build budget notifications exactly as Cloud Billing publishes them.

Used by the operator CLI's ``send-test-alert``, the demo and the tests; the inverse of
``notification.parse``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

__all__ = ["Alert", "cloud_event"]


@dataclass(frozen=True)
class Alert:
    """One budget notification's content, before it becomes a Pub/Sub message."""

    billing_account_id: str
    budget_id: str
    cost: Decimal | float | int
    budget: Decimal | float | int
    period_start: str = "2026-11-01T07:00:00Z"
    display_name: str = "Gemini API budget"
    currency: str = "USD"
    alert_threshold: Decimal | float | None = None
    forecast_threshold: Decimal | float | None = None
    amount_type: str = "SPECIFIED_AMOUNT"
    schema_version: str = "1.0"

    def data(self) -> dict[str, Any]:
        """The JSON document carried in the message's data."""
        doc: dict[str, Any] = {
            "budgetDisplayName": self.display_name,
            "costAmount": float(self.cost),
            "costIntervalStart": self.period_start,
            "budgetAmount": float(self.budget),
            "budgetAmountType": self.amount_type,
            "currencyCode": self.currency,
        }
        if self.alert_threshold is not None:
            doc["alertThresholdExceeded"] = float(self.alert_threshold)
        if self.forecast_threshold is not None:
            doc["forecastThresholdExceeded"] = float(self.forecast_threshold)
        return doc

    def payload(self) -> bytes:
        """The message's data bytes (JSON, before Pub/Sub's base64)."""
        return json.dumps(self.data()).encode()

    def attributes(self) -> dict[str, str]:
        """The message's attributes."""
        return {
            "billingAccountId": self.billing_account_id,
            "budgetId": self.budget_id,
            "schemaVersion": self.schema_version,
        }

    def message(self, message_id: str, publish_time: str | None = None) -> dict[str, Any]:
        """The Pub/Sub message as it appears inside a push body or a CloudEvent."""
        return {
            "data": base64.b64encode(self.payload()).decode(),
            "attributes": self.attributes(),
            "messageId": message_id,
            "publishTime": publish_time or datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }


class _Event(dict[str, Any]):
    """A stand-in for functions-framework's CloudEvent: ``event["type"]`` and ``event.data``."""

    data: Any


def cloud_event(
    message: dict[str, Any], event_type: str = "google.cloud.pubsub.topic.v1.messagePublished"
) -> Any:
    """Wrap a Pub/Sub message the way the Eventarc trigger delivers it (for unit tests)."""
    event = _Event(
        type=event_type,
        source="//pubsub.googleapis.com/projects/p/topics/t",
        id=message.get("messageId"),
    )
    event.data = {"message": message, "subscription": "projects/p/subscriptions/s"}
    return event
