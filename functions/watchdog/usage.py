"""What the watchdog counts: per-minute usage buckets, as plain data (no Google import).

``TokenUsage`` is one minute of one project's tokens on one model; ``KeyUsage`` one minute of one
API key's requests. The reader (``monitoring``) produces them from Cloud Monitoring, the store
(``store``) keeps them in Firestore, and the rules sum them. ``minute`` is always the tz-aware UTC
start of the 1-minute bucket; :func:`minute_of` normalises any instant to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["BILLING_TIME_ZONE", "KeyUsage", "TokenUsage", "minute_of", "period_start"]

#: Cloud Billing's budget periods run in the billing account's time zone: Pacific.
BILLING_TIME_ZONE = "America/Los_Angeles"


def minute_of(moment: datetime) -> datetime:
    """The UTC start of the minute holding ``moment`` (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def period_start(moment: datetime, zone: str = BILLING_TIME_ZONE) -> datetime:
    """The UTC instant the calendar month holding ``moment`` starts in ``zone`` (the budget's
    period: the 1st, 00:00 Pacific, which is 07:00 or 08:00 UTC by daylight saving time)."""
    from zoneinfo import ZoneInfo

    local = minute_of(moment).astimezone(ZoneInfo(zone))
    start = local.replace(day=1, hour=0, minute=0)
    return start.astimezone(UTC)


@dataclass(frozen=True)
class TokenUsage:
    """One per-minute bucket of one project and model."""

    project: str  # project id
    model: str  # as Monitoring labels it (metric.labels.model / model_user_id)
    minute: datetime  # tz-aware UTC, start of the 1-minute bucket
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class KeyUsage:
    """Requests of one API key in one minute."""

    project: str
    key_uid: str  # Key.uid, from credential_id "apikey:<uid>"
    minute: datetime
    requests: int
