"""Money over time: settled day totals plus the open minutes, period to date, windows, baseline.

Owns the arithmetic that turns priced minute buckets into the figures the rules compare:

  - A bucket is *open* while a later tick may still re-read it (the last ``REREAD_MINUTES``);
    older ones are *settled*: folded once into a per-project, per-day total (the billing account's
    day, Pacific) and never summed again. ``settled_through`` is the first minute not folded, so an
    overlapping or repeated read overwrites open buckets and can never count one twice.
  - Period to date = the period's settled days + its open minutes. The period is the budget's
    calendar month in the billing account's time zone (Pacific), as Cloud Billing reports it.
  - Window spend = the last ``window_minutes`` of minute costs (``since`` cuts it after a restore).
  - Trailing average = the 7 full days before today, scaled to the window's length; a day
    without data counts as 0 (the rule's ``amount`` is the floor that keeps that quiet).
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

__all__ = [
    "BILLING_TZ",
    "KEEP_DAYS",
    "REREAD_MINUTES",
    "TRAILING_DAYS",
    "Days",
    "billing_day",
    "fold",
    "period_start",
    "period_to_date",
    "trailing_average",
    "window_spend",
]

BILLING_TZ = ZoneInfo("America/Los_Angeles")
REREAD_MINUTES = 15
TRAILING_DAYS = 7
KEEP_DAYS = 40  # a month plus the trailing week

Days = dict[str, dict[str, Decimal]]  # project -> billing day (YYYY-MM-DD) -> settled cost


def billing_day(minute: datetime) -> date:
    """The billing account's (Pacific) calendar day of a UTC minute."""
    return minute.astimezone(BILLING_TZ).date()


def period_start(moment: datetime) -> datetime:
    """The start of the calendar month holding ``moment`` (Pacific midnight on the 1st), in UTC."""
    local = moment.astimezone(BILLING_TZ)
    first = datetime(local.year, local.month, 1, tzinfo=BILLING_TZ)
    return first.astimezone(UTC)


def fold(
    days: Days, minutes: Mapping[tuple[str, datetime], Decimal], start: datetime, end: datetime
) -> Days:
    """Add the buckets with ``start <= minute < end`` to the day totals (a new mapping)."""
    out = {p: dict(d) for p, d in days.items()}
    for (project, minute), cost in minutes.items():
        if start <= minute < end:
            day = billing_day(minute).isoformat()
            per = out.setdefault(project, {})
            per[day] = per.get(day, Decimal(0)) + cost
    return out


def prune(days: Days, today: date) -> Days:
    """Drop the day totals older than ``KEEP_DAYS``."""
    oldest = (today - timedelta(days=KEEP_DAYS)).isoformat()
    return {p: {d: c for d, c in per.items() if d >= oldest} for p, per in days.items()}


def period_to_date(
    project: str,
    days: Days,
    minutes: Mapping[tuple[str, datetime], Decimal],
    settled_through: datetime,
    now: datetime,
) -> Decimal:
    """The project's estimated spend in the period holding ``now``, up to ``now``."""
    start = period_start(now)
    first_day = billing_day(start).isoformat()
    today = billing_day(now).isoformat()
    total = sum(
        (c for d, c in days.get(project, {}).items() if first_day <= d <= today), Decimal(0)
    )
    for (p, minute), cost in minutes.items():
        if p == project and settled_through <= minute <= now and minute >= start:
            total += cost
    return total


def window_spend(
    project: str,
    minutes: Mapping[tuple[str, datetime], Decimal],
    now: datetime,
    window_minutes: int,
    since: datetime | None = None,
) -> Decimal:
    """Spend in the ``window_minutes`` buckets ending with ``now``'s (not before ``since``)."""
    start = now - timedelta(minutes=window_minutes - 1)
    if since is not None and since > start:
        start = since
    return sum(
        (c for (p, m), c in minutes.items() if p == project and start <= m <= now), Decimal(0)
    )


def trailing_average(project: str, days: Days, now: datetime, window_minutes: int) -> Decimal:
    """The project's average spend per ``window_minutes`` over the 7 full days before today."""
    today = billing_day(now)
    per = days.get(project, {})
    total = sum(
        (per.get((today - timedelta(days=i)).isoformat(), Decimal(0)) for i in range(1, 8)),
        Decimal(0),
    )
    return total * window_minutes / (TRAILING_DAYS * 24 * 60)
