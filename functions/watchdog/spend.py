"""Money over time: what the rules compare, from priced buckets. Pure: no I/O, no clock.

The usage store (functions/watchdog/store.py) answers any ``[start, end)`` exactly (whole UTC
days and hours from its rollups, the rest minute by minute), so every figure here is one read:

  - period to date: ``[period start, now]``, the period being the budget's calendar period
    (``calendar_period``: MONTH by default, QUARTER, YEAR) in the billing account's time zone
    (Pacific), as Cloud Billing reports it;
  - window spend: the ``window_minutes`` buckets ending with now's (none before ``since``: a
    restore);
  - trailing average: the 7 full billing days before today, scaled to the window's length; a day
    without usage counts as 0 (the rule's ``amount`` is the floor that keeps that quiet).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from functions.watchdog.usage import BILLING_TIME_ZONE, period_start

__all__ = [
    "REREAD_MINUTES",
    "TRAILING_DAYS",
    "Spans",
    "budget_period_start",
    "day_start",
    "period_start",
    "spans",
    "total",
    "trailing_average",
]

REREAD_MINUTES = 15
TRAILING_DAYS = 7
MINUTE = timedelta(minutes=1)

Spans = dict[str, tuple[datetime, datetime]]  # what -> [start, end) to read from the store


def day_start(moment: datetime) -> datetime:
    """The UTC instant the billing day (Pacific) holding ``moment`` starts."""
    local = moment.astimezone(ZoneInfo(BILLING_TIME_ZONE))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def budget_period_start(now: datetime, calendar_period: str | None) -> datetime:
    """The start of the budget period holding ``now`` (Pacific midnight), in UTC."""
    month = period_start(now)
    if calendar_period in (None, "MONTH"):
        return month
    local = month.astimezone(ZoneInfo(BILLING_TIME_ZONE))
    first = 1 if calendar_period == "YEAR" else (local.month - 1) // 3 * 3 + 1
    return local.replace(month=first).astimezone(UTC)


def spans(now: datetime, windows: set[int], trailing: bool, periods: set[str]) -> Spans:
    """The store reads one tick needs: each budget period, each window, the trailing week."""
    end = now + MINUTE
    out: Spans = {f"period:{p}": (budget_period_start(now, p), end) for p in sorted(periods)}
    for minutes in sorted(windows):
        out[f"window:{minutes}"] = (end - timedelta(minutes=minutes), end)
    if trailing:
        today = day_start(now)
        # 7 billing days back (a DST change makes one of them 23 or 25 hours: still 7 days).
        out["trailing"] = (day_start(today - timedelta(days=TRAILING_DAYS, hours=-12)), today)
    return out


def total(
    cost: Mapping[tuple[str, datetime], Decimal], project: str, since: datetime | None = None
) -> Decimal:
    """The project's cost in ``cost`` (from ``since`` on)."""
    return sum(
        (c for (p, m), c in cost.items() if p == project and (since is None or m >= since)),
        Decimal(0),
    )


def trailing_average(trailing: Decimal, window_minutes: int) -> Decimal:
    """Average spend per ``window_minutes`` over the trailing days' total."""
    return trailing * window_minutes / (TRAILING_DAYS * 24 * 60)
