"""Firestore ledger backend: the deployed one. Imported only when a rule fires.

``create()`` is Firestore's create-if-absent (AlreadyExists when the document exists); the lease
take-over is an ``update()`` with a last-update-time precondition. Any other Firestore failure is
LedgerUnavailable, which the executor handles (see docs/RELIABILITY.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore

from functions.errors import LedgerUnavailable
from functions.ledger.base import Ledger
from functions.policy import LedgerConfig

__all__ = ["FirestoreLedger"]

T = TypeVar("T")
_TIMEOUT = 20.0


class FirestoreLedger(Ledger):
    """Crossing records in a (named) Firestore database."""

    def __init__(self, config: LedgerConfig, client: Any = None) -> None:
        self._client = client or firestore.Client(project=config.project, database=config.database)
        self._col = self._client.collection(self.collection)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (gexc.AlreadyExists, gexc.FailedPrecondition, gexc.NotFound):
            raise
        except (gexc.GoogleAPIError, OSError) as exc:
            raise LedgerUnavailable(f"ledger {what} failed: {type(exc).__name__}: {exc}") from exc

    def _create(self, doc_id: str, record: dict[str, Any]) -> bool:
        try:
            self._call(
                "create", lambda: self._col.document(doc_id).create(record, timeout=_TIMEOUT)
            )
        except gexc.AlreadyExists:
            return False
        return True

    def _get(self, doc_id: str) -> tuple[dict[str, Any] | None, Any]:
        snap = self._call("read", lambda: self._col.document(doc_id).get(timeout=_TIMEOUT))
        if not snap.exists:
            return None, None
        return snap.to_dict(), snap.update_time

    def _update(self, doc_id: str, record: dict[str, Any], version: Any) -> bool:
        option = self._client.write_option(last_update_time=version)
        ref = self._col.document(doc_id)
        try:
            self._call("update", lambda: ref.update(record, option=option, timeout=_TIMEOUT))
        except (gexc.FailedPrecondition, gexc.NotFound):
            return False
        return True

    def _put(self, doc_id: str, record: dict[str, Any]) -> None:
        self._call("write", lambda: self._col.document(doc_id).set(record, timeout=_TIMEOUT))

    def _query(self, equals: dict[str, Any]) -> list[dict[str, Any]]:
        query: Any = self._col
        for key, value in equals.items():
            query = query.where(filter=firestore.FieldFilter(key, "==", value))
        return self._call("query", lambda: [s.to_dict() for s in query.stream(timeout=_TIMEOUT)])
