"""Ledger logic shared by every backend: claim a crossing once, record what was done.

A record is created with one conditional write (create-if-absent). Whoever creates it holds a
lease and acts; a later delivery of the same crossing finds the record and:
  - state "done": a duplicate, nothing to do;
  - state "open" with a live lease held by another: CrossingBusy (Pub/Sub redelivers later);
  - state "open" with no live lease: takes the lease with a conditional update and resumes the
    actions that are not done (failed, interrupted, or never started).

Fencing: every write after the claim (``save``, ``release``, the actions' checkpoints) is an
update conditional on the version the claim last wrote, and the claim keeps the version each
write returns. A write that finds the record changed re-reads it: still this claim's lease (an
operator's ``annotate``), it keeps the operator's additions and writes again; another owner's
lease, or no record, raises LeaseLost and the holder acts no more.

Backends implement ``_create`` and ``_update`` (conditional on a version; each returns the new
version, or None), ``_get``, and ``_query`` for the operator's status view.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.decision import Firing
from functions.errors import CrossingBusy, LeaseLost
from functions.redact import redact

__all__ = [
    "HISTORY_LIMIT",
    "LEASE_SECONDS",
    "SETTLED",
    "ActionRecord",
    "Claim",
    "Ledger",
    "Version",
]

# How long a claim is held without being released: the function's timeout (infra/main.tf).
LEASE_SECONDS = 300
# Action states that need no further work for this crossing.
SETTLED = frozenset({"done", "noop", "would_run", "skipped"})
HISTORY_LIMIT = 50

Version = Any  # opaque to the base class: an update time, a counter...


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass
class ActionRecord:
    """A view of one action's entry in a crossing record."""

    status: str = "pending"
    detail: str = ""
    attempts: int = 0
    at: str = ""
    progress: dict[str, Any] = field(default_factory=dict)


@dataclass
class Claim:
    """A crossing this process holds the lease on; its ``record`` is the audit trail."""

    doc_id: str
    record: dict[str, Any]
    owner: str
    resumed: bool
    version: Version = None  # of the last write this claim made (or read); fences the next one
    lost: bool = False  # the lease was taken over: no more writes, no more actions

    def action(self, name: str) -> dict[str, Any]:
        """The mutable entry for action ``name``."""
        actions: dict[str, Any] = self.record.setdefault("actions", {})
        entry: dict[str, Any] = actions.setdefault(name, {"status": "pending", "attempts": 0})
        return entry

    def settled(self, name: str) -> bool:
        return self.action(name).get("status") in SETTLED


def _keep_annotations(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Carry an operator's additions (``annotate``: new fields, history lines) into ``ours``."""
    for key, value in theirs.items():
        ours.setdefault(key, value)
    history = ours.setdefault("history", [])
    for entry in theirs.get("history") or []:
        if entry not in history:
            history.append(entry)
    history.sort(key=lambda entry: str(entry.get("at", "")))
    del history[:-HISTORY_LIMIT]


class Ledger(ABC):
    """Once-per-crossing claims and the audit trail; backends implement the hooks below."""

    collection = "crossings"

    def claim(self, firing: Firing, message_id: str, now: datetime | None = None) -> Claim | None:
        """Claim ``firing``'s crossing. None when it is already done (a duplicate)."""
        now = now or datetime.now(UTC)
        doc_id = firing.crossing.doc_id
        owner = uuid.uuid4().hex
        record = redact(self._new_record(firing, message_id, owner, now))  # as every later write
        created = self._create(doc_id, record)
        if created is not None:
            return Claim(doc_id, record, owner, resumed=False, version=created)
        for _ in range(3):
            existing, version = self._get(doc_id)
            if existing is None:  # deleted under us: try the create again
                created = self._create(doc_id, record)
                if created is not None:
                    return Claim(doc_id, record, owner, resumed=False, version=created)
                continue
            if existing.get("state") == "done":
                return None
            if existing.get("lease_owner") == owner:
                # Our own create: it was carried out but its answer was lost, and the client's
                # retry found the record. Without this check the crossing would wait LEASE_SECONDS
                # for a lease nobody else holds.
                return Claim(doc_id, existing, owner, resumed=False, version=version)
            lease_until = existing.get("lease_until")
            if lease_until and datetime.fromisoformat(lease_until) > now:
                raise CrossingBusy(f"crossing {doc_id} is being acted on by another instance")
            taken = {
                **existing,
                "lease_owner": owner,
                "lease_until": _iso(now + timedelta(seconds=LEASE_SECONDS)),
                "attempts": int(existing.get("attempts", 0)) + 1,
                "updated_at": _iso(now),
                "message_ids": [*existing.get("message_ids", []), message_id][-20:],
            }
            written = self._update(doc_id, taken, version)
            if written is not None:
                return Claim(doc_id, taken, owner, resumed=True, version=written)
        raise CrossingBusy(f"crossing {doc_id} changed under three attempts to claim it")

    def save(self, claim: Claim, now: datetime | None = None) -> None:
        """Write the claim's record (progress and outcomes), fenced: LeaseLost if it is not ours."""
        if claim.lost:
            raise LeaseLost(f"crossing {claim.doc_id}: this instance no longer holds the lease")
        claim.record["updated_at"] = _iso(now or datetime.now(UTC))
        for _ in range(5):
            written = self._update(claim.doc_id, redact(claim.record), claim.version)
            if written is not None:
                claim.version = written
                return
            current, version = self._get(claim.doc_id)
            if current is None or current.get("lease_owner") != claim.owner:
                claim.lost = True
                holder = "nobody" if current is None else current.get("lease_owner") or "nobody"
                raise LeaseLost(
                    f"crossing {claim.doc_id}: the lease was taken over (now held by {holder})"
                )
            _keep_annotations(claim.record, current)  # ours still: an operator's note came in
            claim.version = version
        raise CrossingBusy(f"crossing {claim.doc_id} kept changing while it was being saved")

    def release(self, claim: Claim, now: datetime | None = None) -> None:
        """Give the lease up, and mark the crossing done when every action is settled."""
        actions = claim.record.get("actions", {})
        done = all(a.get("status") in SETTLED for a in actions.values())
        claim.record["state"] = "done" if done else "open"
        claim.record["lease_until"] = None
        claim.record["lease_owner"] = None
        self.save(claim, now)

    def note(self, claim: Claim, what: str, now: datetime | None = None, **data: Any) -> None:
        """Append one line to the crossing's history (kept to the last entries)."""
        history = claim.record.setdefault("history", [])
        history.append({"at": _iso(now or datetime.now(UTC)), "what": what, **data})
        del history[:-HISTORY_LIMIT]

    def annotate(self, doc_id: str, change: Callable[[dict[str, Any]], None]) -> bool:
        """Apply ``change`` to a record with a conditional update, re-read on conflict.

        For a human's notes (``restore``): it never takes the lease, so ``change`` must leave
        ``state`` and the lease alone. False when the record does not exist.
        """
        for _ in range(5):
            record, version = self._get(doc_id)
            if record is None:
                return False
            change(record)
            if self._update(doc_id, redact(record), version) is not None:
                return True
        raise CrossingBusy(f"crossing {doc_id} kept changing while it was being annotated")

    def create(self, doc_id: str, record: dict[str, Any]) -> bool:
        """Create a record that is not a claimed crossing (``audit --fix``); False if it exists."""
        return self._create(doc_id, redact(record)) is not None

    def get(self, doc_id: str) -> dict[str, Any] | None:
        """The record for a crossing, or None."""
        return self._get(doc_id)[0]

    def records(self, **equals: Any) -> list[dict[str, Any]]:
        """Every record whose fields equal ``equals`` (for status and restore)."""
        return self._query(equals)

    def _new_record(
        self, firing: Firing, message_id: str, owner: str, now: datetime
    ) -> dict[str, Any]:
        c = firing.crossing
        return {
            "crossing": c.doc_id,
            "budget_id": c.budget_id,
            "period": c.period,
            "budget_amount": c.budget_amount,
            "rule": c.rule,
            "project": c.project,
            **({"subject": c.subject} if c.subject else {}),
            "dry_run": c.dry_run,
            "protected": firing.protected,
            "threshold": str(firing.rule.threshold),
            "basis": firing.rule.basis,
            "reason": firing.reason,
            "source": firing.source,
            "state": "open",
            "first_message_id": message_id,
            "message_ids": [message_id],
            "claimed_at": _iso(now),
            "updated_at": _iso(now),
            "lease_owner": owner,
            "lease_until": _iso(now + timedelta(seconds=LEASE_SECONDS)),
            "attempts": 1,
            "actions": {name: {"status": "pending", "attempts": 0} for name in firing.rule.actions},
            "history": [],
        }

    # --- backend hooks ----------------------------------------------------------------------

    @abstractmethod
    def _create(self, doc_id: str, record: dict[str, Any]) -> Version | None:
        """Create the record if absent: its version; None if it exists. Atomic."""

    @abstractmethod
    def _get(self, doc_id: str) -> tuple[dict[str, Any] | None, Version]:
        """The record and a version for ``_update``'s precondition."""

    @abstractmethod
    def _update(self, doc_id: str, record: dict[str, Any], version: Version) -> Version | None:
        """Replace the record if it is still at ``version``: the new version; None if it changed
        or is gone."""

    @abstractmethod
    def _query(self, equals: dict[str, Any]) -> list[dict[str, Any]]:
        """Records whose fields equal ``equals``."""
