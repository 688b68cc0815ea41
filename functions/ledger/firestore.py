"""Firestore ledger backend: the deployed one. Imported only when a rule fires.

``create()`` is Firestore's create-if-absent (AlreadyExists when the document exists); every later
write (the lease take-over, ``save``, ``release``, ``annotate``) is an ``update()`` with a
last-update-time precondition, and returns the new update time (the claim's fence, see
``base``). A changed or deleted document answers FAILED_PRECONDITION or NOT_FOUND to such an
update: the precondition did not hold.

The same two codes, and PERMISSION_DENIED, also say that the ledger itself is misconfigured: the
database does not exist (NOT_FOUND "The database ... does not exist"), is in Datastore mode
(FAILED_PRECONDITION "The Cloud Firestore API is not available for Firestore in Datastore Mode
database ..."), or the guard may not use it. Those are LedgerMisconfigured, naming the fix; they
are told from a failed precondition by the operation (only an update has a precondition) and by
Google's message (``_misconfigured``). Any other Firestore failure is LedgerUnavailable, which
the executor handles (see docs/RELIABILITY.md).

Each operation, its retries included, takes at most ``BUDGET_GUARD_LEDGER_TIMEOUT`` seconds (20):
the client's own default would retry for up to 60 s, and while the ledger is unreachable the
brakes that run without it wait for that first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.cloud import firestore

from functions.errors import LedgerMisconfigured, LedgerUnavailable
from functions.ledger.base import Ledger
from functions.policy import LedgerConfig

__all__ = ["FirestoreLedger", "call_options"]

T = TypeVar("T")
ENV_TIMEOUT = "BUDGET_GUARD_LEDGER_TIMEOUT"
# Google's words for a database that is missing or in Datastore mode (never a document's).
_DATABASE_MISSING = re.compile(r"database\b.*\bdoes not exist|does not contain an active", re.I)
_DATASTORE_MODE = re.compile(r"not available for .*datastore", re.I)


def call_options() -> dict[str, Any]:
    """``retry`` and ``timeout`` for one Firestore call of the guard (the ledger, the usage store):
    what the client retries (UNAVAILABLE, RESOURCE_EXHAUSTED), but only within
    ``BUDGET_GUARD_LEDGER_TIMEOUT`` seconds, retries included."""
    timeout = float(os.environ.get(ENV_TIMEOUT, "20"))
    retry = Retry(
        predicate=lambda e: isinstance(e, (gexc.ServiceUnavailable, gexc.ResourceExhausted)),
        initial=0.1,
        maximum=2.0,
        multiplier=2.0,
        timeout=timeout,
    )
    return {"retry": retry, "timeout": timeout}


class FirestoreLedger(Ledger):
    """Crossing records in a (named) Firestore database."""

    def __init__(self, config: LedgerConfig, client: Any = None) -> None:
        self._config = config
        self._client = client or firestore.Client(project=config.project, database=config.database)
        self._col = self._client.collection(self.collection)
        self._opts = call_options()

    def _call(self, what: str, fn: Callable[[], T], precondition: bool = False) -> T:
        """Run one operation; ``precondition``: its FAILED_PRECONDITION / NOT_FOUND may be the
        document's (raised as they are for the caller), unless Google's words name the database."""
        try:
            return fn()
        except gexc.AlreadyExists:
            raise
        except (gexc.GoogleAPIError, OSError) as exc:
            remedy = self._misconfigured(exc, precondition)
            if remedy is not None:
                raise LedgerMisconfigured(
                    f"ledger {what} refused: {type(exc).__name__}: {exc}", remedy
                ) from exc
            if precondition and isinstance(exc, (gexc.FailedPrecondition, gexc.NotFound)):
                raise
            raise LedgerUnavailable(f"ledger {what} failed: {type(exc).__name__}: {exc}") from exc

    def _misconfigured(self, exc: BaseException, precondition: bool) -> str | None:
        """The fix for a ledger that refuses for good, or None."""
        database = f"{self._config.database!r} in project {self._config.project}"
        message = str(getattr(exc, "message", None) or exc)
        if isinstance(exc, gexc.PermissionDenied):
            return (
                f"grant the guard's service account roles/datastore.user on the Firestore "
                f"database {database} (infra/iam.tf does); it needs datastore.entities.get, "
                "create, update and list"
            )
        if isinstance(exc, gexc.FailedPrecondition) and _DATASTORE_MODE.search(message):
            return (
                f"the Firestore database {database} is in Datastore mode; the ledger needs a "
                "database in Firestore Native mode: create one (infra/ledger.tf does) and name it "
                "in the policy's ledger.database"
            )
        if isinstance(exc, gexc.FailedPrecondition) and not precondition:
            return f"the Firestore database {database} refuses the request: see Google's message"
        if isinstance(exc, gexc.NotFound) and (
            _DATABASE_MISSING.search(message) or not precondition
        ):
            return (
                f"create the Firestore database {database} in Native mode (infra/ledger.tf "
                "does), or set the policy's ledger.database to the database that exists"
            )
        return None

    def _create(self, doc_id: str, record: dict[str, Any]) -> Any:
        try:
            result = self._call(
                "create", lambda: self._col.document(doc_id).create(record, **self._opts)
            )
        except gexc.AlreadyExists:
            return None
        return result.update_time

    def _get(self, doc_id: str) -> tuple[dict[str, Any] | None, Any]:
        snap = self._call("read", lambda: self._col.document(doc_id).get(**self._opts))
        if not snap.exists:
            return None, None
        return snap.to_dict(), snap.update_time

    def _update(self, doc_id: str, record: dict[str, Any], version: Any) -> Any:
        if version is None:  # no version read: the document is gone
            return None
        option = self._client.write_option(last_update_time=version)
        ref = self._col.document(doc_id)
        try:
            result = self._call(
                "update", lambda: ref.update(record, option=option, **self._opts), precondition=True
            )
        except (gexc.FailedPrecondition, gexc.NotFound):
            return None
        return result.update_time

    def _query(self, equals: dict[str, Any]) -> list[dict[str, Any]]:
        query: Any = self._col
        for key, value in equals.items():
            query = query.where(filter=firestore.FieldFilter(key, "==", value))
        return self._call("query", lambda: [s.to_dict() for s in query.stream(**self._opts)])
