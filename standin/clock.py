"""The stand-in's clock: wall time unless a simulation sets it.

One clock per world, shared by the stand-in's time-dependent parts (Gemini per-minute quota
windows, usage records) and the simulation drivers, so a simulated minute is the same minute for
the caller, the quota and the billing model. ``set``/``advance`` pin it; ``release`` returns it to
wall time. No other source of time is read while it is pinned.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

__all__ = ["Clock"]


class Clock:
    """A settable UTC clock; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pinned: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            return self._pinned if self._pinned is not None else datetime.now(UTC)

    @property
    def pinned(self) -> bool:
        with self._lock:
            return self._pinned is not None

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("the clock needs an aware datetime (UTC)")
        with self._lock:
            self._pinned = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            base = self._pinned if self._pinned is not None else datetime.now(UTC)
            self._pinned = base + delta
            return self._pinned

    def release(self) -> None:
        with self._lock:
            self._pinned = None
