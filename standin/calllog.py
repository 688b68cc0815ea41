"""The log of API calls the stand-in answered: method id, HTTP verb, path, status, time.

Never bodies, never query strings: neither can then carry a key string into the log.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

__all__ = ["CallLog"]


class CallLog:
    """Calls in order of arrival; ``status`` is filled in once answered (``None``: no answer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def start(self, method_id: str | None, http: str, path: str) -> dict[str, Any]:
        """Record an arriving call; the returned entry is completed by :meth:`finish`."""
        entry: dict[str, Any] = {
            "method": method_id,
            "http": http,
            "path": path,
            "status": None,
            "fault": None,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        with self._lock:
            self._entries.append(entry)
        return entry

    def finish(self, entry: dict[str, Any], status: int | None, fault: str | None = None) -> None:
        with self._lock:
            entry["status"] = status
            entry["fault"] = fault

    def entries(self, method_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                dict(entry)
                for entry in self._entries
                if method_id is None or entry["method"] == method_id
            ]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
