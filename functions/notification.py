"""Budget notification parsing: a Pub/Sub message becomes a typed ``Notification`` or an error.

Pure functions and tables, no I/O. Everything that is not a well-formed Cloud Billing budget
notification raises ``MalformedMessage`` with the precise reason; a well-formed one whose billing
account, budget or schema version this policy does not expect raises ``SpoofedMessage``.
Format: cloud.google.com/billing/docs/how-to/budgets-programmatic-notifications.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.errors import MalformedMessage, SpoofedMessage

__all__ = [
    "EVENT_TYPE",
    "MAX_AMOUNT",
    "MAX_DATA_BYTES",
    "MIN_AMOUNT",
    "Notification",
    "decode_data",
    "from_cloud_event",
    "parse",
]

EVENT_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"
SCHEMA_VERSION = "1.0"
# A real notification is about 300 bytes; anything near Pub/Sub's 10 MB limit is hostile.
MAX_DATA_BYTES = 16 * 1024
# Amounts are money: below a quadrillion, and 0 or at least a nano (1e-9), the smallest amount
# Cloud Billing's Money type expresses. Outside that range a message is crafted, not billed.
MAX_AMOUNT = Decimal("1e15")
MIN_AMOUNT = Decimal("1e-9")
MAX_RATIO = Decimal("1e6")
# A period cannot start after the message about it was published; allow for clock skew.
CLOCK_SKEW = timedelta(hours=1)
# The longest a budget period of each calendar period lasts: Cloud Billing publishes a
# notification within its period, so a period start older than that before publishTime is stale.
PERIOD_LENGTH = {
    "MONTH": timedelta(days=31),
    "QUARTER": timedelta(days=92),
    "YEAR": timedelta(days=366),
}
PUBSUB_SOURCE = "//pubsub.googleapis.com/"

_ACCOUNT = re.compile(r"[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}")
_BUDGET = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_AMOUNT_TYPES = frozenset({"SPECIFIED_AMOUNT", "LAST_MONTH_COST", "LAST_PERIODS_COST"})


@dataclass(frozen=True)
class Notification:
    """One budget notification, verified and typed. Amounts are exact decimals."""

    message_id: str
    billing_account_id: str
    budget_id: str
    schema_version: str
    budget_display_name: str
    cost_amount: Decimal
    cost_interval_start: datetime
    budget_amount: Decimal
    budget_amount_type: str
    currency_code: str
    alert_threshold_exceeded: Decimal | None = None
    forecast_threshold_exceeded: Decimal | None = None
    publish_time: datetime | None = None

    @property
    def period(self) -> str:
        """The budget period, as the canonical UTC timestamp of its start."""
        return self.cost_interval_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def spend_ratio(self) -> Decimal:
        """Actual spend as a fraction of the budget (1 = 100 %); of a zero budget, infinite
        once anything is spent (``decision``: any spend crosses every threshold), else 0."""
        if self.budget_amount == 0:
            return Decimal("Infinity") if self.cost_amount > 0 else Decimal(0)
        return self.cost_amount / self.budget_amount


# --- field converters: each takes the raw JSON value and returns the typed one or raises ------


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {type(value).__name__}")
    if len(value) > 1024:
        raise ValueError("is longer than 1024 characters")
    return value


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValueError(f"must be a number, got {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError("must be finite")
    if number < 0:
        raise ValueError("must not be negative")
    if number >= MAX_AMOUNT:
        raise ValueError(f"must be below {MAX_AMOUNT:.0e}")
    if 0 < number < MIN_AMOUNT:
        raise ValueError("must be 0 or at least 1e-9 (a nano: Cloud Billing's smallest unit)")
    return number


def _ratio(value: Any) -> Decimal:
    number = _amount(value)
    if number > MAX_RATIO:
        raise ValueError(f"must be at most {MAX_RATIO:.0e}")
    return number


def _timestamp(value: Any) -> datetime:
    text = _string(value)
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)", text):
        raise ValueError(f"must be an RFC 3339 timestamp, got {text[:40]!r}")
    try:
        parsed = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text))
    except ValueError as exc:
        raise ValueError(f"is not a valid timestamp: {exc}") from None
    return parsed


def _enum(allowed: frozenset[str]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = _string(value)
        if text not in allowed:
            raise ValueError(f"must be one of {sorted(allowed)}, got {text[:40]!r}")
        return text

    return convert


def _pattern(pattern: re.Pattern[str], what: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = _string(value)
        if not pattern.fullmatch(text):
            raise ValueError(f"must be {what}, got {text[:60]!r}")
        return text

    return convert


# JSON field -> (Notification attribute, converter, required)
DATA_FIELDS: dict[str, tuple[str, Callable[[Any], Any], bool]] = {
    "budgetDisplayName": ("budget_display_name", _string, True),
    "costAmount": ("cost_amount", _amount, True),
    "costIntervalStart": ("cost_interval_start", _timestamp, True),
    "budgetAmount": ("budget_amount", _amount, True),
    "budgetAmountType": ("budget_amount_type", _enum(_AMOUNT_TYPES), True),
    "currencyCode": ("currency_code", _pattern(_CURRENCY, "an ISO 4217 code"), True),
    "alertThresholdExceeded": ("alert_threshold_exceeded", _ratio, False),
    "forecastThresholdExceeded": ("forecast_threshold_exceeded", _ratio, False),
}

# Pub/Sub attribute -> (Notification attribute, converter)
ATTRIBUTES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "billingAccountId": ("billing_account_id", _pattern(_ACCOUNT, "a billing account id")),
    "budgetId": ("budget_id", _pattern(_BUDGET, "a budget id (UUID)")),
    "schemaVersion": ("schema_version", _string),
}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def decode_data(data: Any) -> dict[str, Any]:
    """Decode the message's base64 ``data`` into the notification's JSON object."""
    if isinstance(data, str):
        raw_b64 = data.encode("ascii", "replace")
    elif isinstance(data, bytes):
        raw_b64 = data
    else:
        raise MalformedMessage(f"message.data must be base64 text, got {type(data).__name__}")
    if not raw_b64:
        raise MalformedMessage("message.data is empty")
    if len(raw_b64) > MAX_DATA_BYTES * 4 // 3 + 4:
        raise MalformedMessage(f"message.data is larger than {MAX_DATA_BYTES} bytes")
    try:
        raw = base64.b64decode(raw_b64, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedMessage("message.data is not valid base64") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage(f"message.data is not UTF-8 (byte {exc.start})") from None
    try:
        obj = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError:
        raise MalformedMessage("message.data is JSON nested too deeply") from None
    except ValueError as exc:
        raise MalformedMessage(f"message.data is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MalformedMessage(f"message.data must be a JSON object, got {type(obj).__name__}")
    return obj


def parse(
    message: Mapping[str, Any],
    billing_account: str,
    budgets: Mapping[str, Any],
) -> Notification:
    """Turn a Pub/Sub message (``data``, ``attributes``, ``messageId``...) into a Notification.

    ``billing_account`` and ``budgets`` (by id) come from the policy: anything else is a spoof.
    """
    if not isinstance(message, Mapping):
        raise MalformedMessage("message must be an object")
    message_id = message.get("messageId") or message.get("message_id")
    if not isinstance(message_id, str) or not message_id or len(message_id) > 128:
        raise MalformedMessage("messageId is missing or not a short string")
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise MalformedMessage("message.attributes must be an object")
    fields: dict[str, Any] = {"message_id": message_id}
    for name, (attr, convert) in ATTRIBUTES.items():
        if name not in attributes:
            raise MalformedMessage(f"attribute {name} is missing")
        try:
            fields[attr] = convert(attributes[name])
        except ValueError as exc:
            raise MalformedMessage(f"attribute {name} {exc}") from None
    data = decode_data(message.get("data"))
    for name, (attr, convert, required) in DATA_FIELDS.items():
        if name not in data or data[name] is None:
            if required:
                raise MalformedMessage(f"data.{name} is missing")
            continue
        try:
            fields[attr] = convert(data[name])
        except ValueError as exc:
            raise MalformedMessage(f"data.{name} {exc}") from None
    publish_time = message.get("publishTime") or message.get("publish_time")
    if publish_time is not None:
        try:
            fields["publish_time"] = _timestamp(publish_time)
        except ValueError as exc:
            raise MalformedMessage(f"publishTime {exc}") from None
    notification = Notification(**fields)
    _check_consistent(notification)
    _check_origin(notification, billing_account, budgets)
    return notification


def _check_consistent(n: Notification) -> None:
    if n.publish_time is not None and n.cost_interval_start > n.publish_time + CLOCK_SKEW:
        raise MalformedMessage(
            f"data.costIntervalStart {n.period} is after the message's publishTime"
        )


def _check_origin(n: Notification, billing_account: str, budgets: Mapping[str, Any]) -> None:
    if n.schema_version != SCHEMA_VERSION:
        raise SpoofedMessage(f"schemaVersion {n.schema_version[:20]!r} is not {SCHEMA_VERSION}")
    if n.billing_account_id != billing_account:
        raise SpoofedMessage(f"billingAccountId {n.billing_account_id} is not the guarded account")
    budget = budgets.get(n.budget_id)
    if budget is None:
        raise SpoofedMessage(f"budgetId {n.budget_id} is not a budget in the policy")
    currency = getattr(budget, "currency", None)
    if currency is not None and n.currency_code != currency:
        raise SpoofedMessage(f"currencyCode {n.currency_code} is not the budget's {currency}")
    period = getattr(budget, "calendar_period", None)
    age = None if n.publish_time is None else n.publish_time - n.cost_interval_start
    if period is not None and age is not None and age > PERIOD_LENGTH[period] + CLOCK_SKEW:
        raise MalformedMessage(
            f"data.costIntervalStart {n.period} is stale: more than one {period} budget "
            f"period ({PERIOD_LENGTH[period].days} days) before the publishTime"
        )


def from_cloud_event(event: Any, source_topic: str | None = None) -> Mapping[str, Any]:
    """Return the Pub/Sub message inside a functions-framework CloudEvent, checking its type and,
    when ``source_topic`` is given, that its source is that topic (Eventarc sets the source)."""
    try:
        event_type = event["type"]
    except (KeyError, TypeError):
        event_type = None
    if event_type != EVENT_TYPE:
        raise MalformedMessage(f"CloudEvent type {str(event_type)[:80]!r} is not {EVENT_TYPE}")
    if source_topic is not None:
        try:
            source = event["source"]
        except (KeyError, TypeError):
            source = None
        if source != PUBSUB_SOURCE + source_topic:
            raise SpoofedMessage(
                f"CloudEvent source {str(source)[:120]!r} is not the alerts topic {source_topic}"
            )
    data = getattr(event, "data", None)
    if not isinstance(data, Mapping) or not isinstance(data.get("message"), Mapping):
        raise MalformedMessage("CloudEvent data has no Pub/Sub message")
    return data["message"]  # type: ignore[no-any-return]
