"""Firestore ledger backend: the deployed one. Imported only when a rule fires.

``create()`` is Firestore's create-if-absent (AlreadyExists when the document exists); the lease
take-over is an ``update()`` with a last-update-time precondition. Any other Firestore failure is
LedgerUnavailable, which the executor handles (see docs/RELIABILITY.md).

Each operation, its retries included, takes at most ``BUDGET_GUARD_LEDGER_TIMEOUT`` seconds (20):
the client's own default would retry for up to 60 s, and while the ledger is unreachable the
brakes that run without it wait for that first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.cloud import firestore

from functions.errors import LedgerUnavailable
from functions.ledger.base import Ledger
from functions.policy import LedgerConfig

__all__ = ["FirestoreLedger"]

T = TypeVar("T")
ENV_TIMEOUT = "BUDGET_GUARD_LEDGER_TIMEOUT"


class FirestoreLedger(Ledger):
    """Crossing records in a (named) Firestore database."""

    def __init__(self, config: LedgerConfig, client: Any = None) -> None:
        self._client = client or firestore.Client(project=config.project, database=config.database)
        self._col = self._client.collection(self.collection)
        timeout = float(os.environ.get(ENV_TIMEOUT, "20"))
        # What the client retries (UNAVAILABLE, RESOURCE_EXHAUSTED), but only within ``timeout``.
        retry = Retry(
            predicate=lambda e: isinstance(e, (gexc.ServiceUnavailable, gexc.ResourceExhausted)),
            initial=0.1,
            maximum=2.0,
            multiplier=2.0,
            timeout=timeout,
        )
        self._opts: dict[str, Any] = {"retry": retry, "timeout": timeout}

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (gexc.AlreadyExists, gexc.FailedPrecondition, gexc.NotFound):
            raise
        except (gexc.GoogleAPIError, OSError) as exc:
            raise LedgerUnavailable(f"ledger {what} failed: {type(exc).__name__}: {exc}") from exc

    def _create(self, doc_id: str, record: dict[str, Any]) -> bool:
        try:
            self._call("create", lambda: self._col.document(doc_id).create(record, **self._opts))
        except gexc.AlreadyExists:
            return False
        return True

    def _get(self, doc_id: str) -> tuple[dict[str, Any] | None, Any]:
        snap = self._call("read", lambda: self._col.document(doc_id).get(**self._opts))
        if not snap.exists:
            return None, None
        return snap.to_dict(), snap.update_time

    def _update(self, doc_id: str, record: dict[str, Any], version: Any) -> bool:
        option = self._client.write_option(last_update_time=version)
        ref = self._col.document(doc_id)
        try:
            self._call("update", lambda: ref.update(record, option=option, **self._opts))
        except (gexc.FailedPrecondition, gexc.NotFound):
            return False
        return True

    def _put(self, doc_id: str, record: dict[str, Any]) -> None:
        self._call("write", lambda: self._col.document(doc_id).set(record, **self._opts))

    def _query(self, equals: dict[str, Any]) -> list[dict[str, Any]]:
        query: Any = self._col
        for key, value in equals.items():
            query = query.where(filter=firestore.FieldFilter(key, "==", value))
        return self._call("query", lambda: [s.to_dict() for s in query.stream(**self._opts)])
