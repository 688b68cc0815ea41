"""The stand-in's clock: real time by default, fixed or shifted for simulations.

Only Cloud Monitoring's visibility (a point shows once ``now`` is past its end time plus the
ingestion delay) reads it. ``set(now)`` fixes it at ``now``; ``set(now, running=True)`` starts it
at ``now`` and lets it run at real speed; ``set_offset(seconds)`` runs it shifted from real time;
``reset()`` returns to real time. The clock survives ``set_state`` (it is not part of the world).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["Clock", "parse_time", "rfc3339"]


def parse_time(value: Any, where: str) -> datetime:
    """An RFC 3339 timestamp (``Z`` or an offset) as a tz-aware UTC datetime; ValueError if not."""
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected an RFC 3339 timestamp string, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{where}: not an RFC 3339 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{where}: a time zone (Z or +HH:MM) is required: {value!r}")
    return moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """``2026-11-30T10:05:00Z`` (microseconds only when present)."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


class Clock:
    """Thread-safe; ``now()`` is tz-aware UTC."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fixed: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            if self._fixed is not None:
                return self._fixed
            return datetime.now(UTC) + self._offset

    def set(self, now: datetime, *, running: bool = False) -> None:
        now = now.astimezone(UTC)
        with self._lock:
            if running:
                self._fixed, self._offset = None, now - datetime.now(UTC)
            else:
                self._fixed, self._offset = now, timedelta(0)

    def set_offset(self, seconds: float) -> None:
        with self._lock:
            self._fixed, self._offset = None, timedelta(seconds=seconds)

    def reset(self) -> None:
        with self._lock:
            self._fixed, self._offset = None, timedelta(0)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            fixed, offset = self._fixed, self._offset
        mode = "fixed" if fixed is not None else ("offset" if offset else "real")
        return {
            "now": rfc3339(self.now()),
            "mode": mode,
            "offset_seconds": offset.total_seconds(),
        }
