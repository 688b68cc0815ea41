"""The ledger: one record per crossing, claimed atomically, holding the audit trail.

``base.Ledger`` holds all the logic; a backend implements four small hooks. ``firestore`` is the
deployed backend; ``memory`` serves the pure unit tests and ``plan``.
"""

from __future__ import annotations

from functions.ledger.base import LEASE_SECONDS, ActionRecord, Claim, Ledger

__all__ = ["LEASE_SECONDS", "ActionRecord", "Claim", "Ledger"]
