"""In-memory ledger backend, for pure unit tests and ``plan``. Not for deployment."""

from __future__ import annotations

import copy
import threading
from typing import Any

from functions.ledger.base import Ledger

__all__ = ["MemoryLedger"]


class MemoryLedger(Ledger):
    """A dict behind a lock; versions are counters."""

    def __init__(self) -> None:
        self._docs: dict[str, tuple[dict[str, Any], int]] = {}
        self._lock = threading.Lock()

    def _create(self, doc_id: str, record: dict[str, Any]) -> int | None:
        with self._lock:
            if doc_id in self._docs:
                return None
            self._docs[doc_id] = (copy.deepcopy(record), 1)
            return 1

    def _get(self, doc_id: str) -> tuple[dict[str, Any] | None, int]:
        with self._lock:
            record, version = self._docs.get(doc_id, (None, 0))
            return copy.deepcopy(record), version

    def _update(self, doc_id: str, record: dict[str, Any], version: int) -> int | None:
        with self._lock:
            if doc_id not in self._docs or self._docs[doc_id][1] != version:
                return None
            self._docs[doc_id] = (copy.deepcopy(record), version + 1)
            return version + 1

    def _query(self, equals: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(r)
                for r, _ in self._docs.values()
                if all(r.get(k) == v for k, v in equals.items())
            ]
