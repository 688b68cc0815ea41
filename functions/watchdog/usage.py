"""What the watchdog counts: per-minute usage buckets, as plain data (no Google import).

``TokenUsage`` is one minute of one project's tokens on one model; ``KeyUsage`` one minute of one
API key's requests. The reader (``monitoring``) produces them from Cloud Monitoring, the store
(``store``) keeps them in Firestore, and the rules sum them. ``minute`` is always the tz-aware UTC
start of the 1-minute bucket; :func:`minute_of` normalises any instant to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["KeyUsage", "TokenUsage", "minute_of"]


def minute_of(moment: datetime) -> datetime:
    """The UTC start of the minute holding ``moment`` (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


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
