"""The watchdog's own state: one Firestore document next to the ledger (collection ``watchdog``).

Owns ``watchdog/state`` (since when the watchdog counts, the current bursts, the last tick and
its estimates: what ``budget-guard status`` shows and the reconciliation compares)
and ``watchdog/reconcile-<budget id>`` (the last reconciliation of a budget). Amounts are stored
as decimal strings, times as RFC 3339 UTC.

``WatchdogStore.update(change)`` is optimistic: read, ``change``, write with a last-update-time
precondition (create when absent), re-read on a conflict, so two ticks running at once never
lose each other's bursts. Errors: ``LedgerUnavailable`` when Firestore fails (transient:
the tick is raised and Pub/Sub redelivers it); ``CrossingBusy`` after repeated conflicts.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from functions.errors import CrossingBusy, LedgerUnavailable
from functions.policy import LedgerConfig
from functions.watchdog.rules import Burst

__all__ = ["FirestoreWatchdogStore", "MemoryWatchdogStore", "State", "WatchdogStore"]

COLLECTION = "watchdog"
STATE_DOC = "state"


def _time(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class State:
    """What one tick reads and the next one continues from."""

    counting_since: datetime | None = None  # the first minute the watchdog ever read
    bursts: dict[str, Burst] = field(default_factory=dict)
    last_tick: datetime | None = None
    report: dict[str, Any] = field(default_factory=dict)  # last tick: estimates, minutes read

    def to_doc(self) -> dict[str, Any]:
        return {
            "counting_since": _iso(self.counting_since),
            "bursts": {
                k: {"start": _iso(b.start), "last_hot": _iso(b.last_hot), "since": _iso(b.since)}
                for k, b in self.bursts.items()
            },
            "last_tick": _iso(self.last_tick),
            "report": self.report,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> State:
        if not doc:
            return cls()
        bursts = {}
        for key, raw in (doc.get("bursts") or {}).items():
            start, last = _time(raw.get("start")), _time(raw.get("last_hot"))
            if start and last:
                bursts[key] = Burst(start, last, _time(raw.get("since")))
        return cls(
            counting_since=_time(doc.get("counting_since")),
            bursts=bursts,
            last_tick=_time(doc.get("last_tick")),
            report=dict(doc.get("report") or {}),
        )

    def but(self, **changes: Any) -> State:
        return replace(self, **changes)


class WatchdogStore(ABC):
    """The state document and the reconciliation records."""

    def update(self, change: Callable[[State], State]) -> State:
        """Apply ``change`` to the stored state atomically (re-run on a conflict)."""
        for _ in range(5):
            doc, version = self._get(STATE_DOC)
            new = change(State.from_doc(doc))
            if self._write(STATE_DOC, new.to_doc(), version, exists=doc is not None):
                return new
        raise CrossingBusy("the watchdog state kept changing under five attempts to update it")

    def state(self) -> State:
        return State.from_doc(self._get(STATE_DOC)[0])

    def put_reconciliation(self, budget_id: str, record: dict[str, Any]) -> None:
        self._put(f"reconcile-{budget_id}", record)

    def reconciliation(self, budget_id: str) -> dict[str, Any] | None:
        return self._get(f"reconcile-{budget_id}")[0]

    @abstractmethod
    def _get(self, doc_id: str) -> tuple[dict[str, Any] | None, Any]:
        """A document and its version (None, None when absent)."""

    @abstractmethod
    def _write(self, doc_id: str, doc: dict[str, Any], version: Any, exists: bool) -> bool:
        """Create (``exists`` False) or replace at ``version``; False on a conflict."""

    @abstractmethod
    def _put(self, doc_id: str, doc: dict[str, Any]) -> None:
        """Replace a document unconditionally."""


class MemoryWatchdogStore(WatchdogStore):
    """In-process store for unit tests."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[dict[str, Any], int]] = {}

    def _get(self, doc_id: str) -> tuple[dict[str, Any] | None, Any]:
        doc, version = self.docs.get(doc_id, (None, 0))
        return (dict(doc) if doc is not None else None), version

    def _write(self, doc_id: str, doc: dict[str, Any], version: Any, exists: bool) -> bool:
        if self.docs.get(doc_id, (None, 0))[1] != version:
            return False
        self.docs[doc_id] = (dict(doc), version + 1)
        return True

    def _put(self, doc_id: str, doc: dict[str, Any]) -> None:
        self.docs[doc_id] = (dict(doc), self.docs.get(doc_id, (None, 0))[1] + 1)


class FirestoreWatchdogStore(WatchdogStore):
    """The deployed store: the ledger's Firestore database, collection ``watchdog``."""

    def __init__(self, config: LedgerConfig, client: Any = None) -> None:
        from google.cloud import firestore

        self._client = client or firestore.Client(project=config.project, database=config.database)
        self._col = self._client.collection(COLLECTION)
        self._timeout = float(os.environ.get("BUDGET_GUARD_LEDGER_TIMEOUT", "20"))

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        from google.api_core import exceptions as gexc

        try:
            return fn()
        except (gexc.AlreadyExists, gexc.FailedPrecondition, gexc.NotFound):
            raise
        except (gexc.GoogleAPIError, OSError) as exc:
            raise LedgerUnavailable(f"watchdog state {what} failed: {exc}") from exc

    def _get(self, doc_id: str) -> tuple[dict[str, Any] | None, Any]:
        snap = self._call("read", lambda: self._col.document(doc_id).get(timeout=self._timeout))
        return (snap.to_dict(), snap.update_time) if snap.exists else (None, None)

    def _write(self, doc_id: str, doc: dict[str, Any], version: Any, exists: bool) -> bool:
        from google.api_core import exceptions as gexc

        ref = self._col.document(doc_id)
        try:
            if not exists:
                self._call("create", lambda: ref.create(doc, timeout=self._timeout))
            else:
                option = self._client.write_option(last_update_time=version)
                self._call("update", lambda: ref.update(doc, option=option, timeout=self._timeout))
        except (gexc.AlreadyExists, gexc.FailedPrecondition, gexc.NotFound):
            return False
        return True

    def _put(self, doc_id: str, doc: dict[str, Any]) -> None:
        self._call("write", lambda: self._col.document(doc_id).set(doc, timeout=self._timeout))
