"""Budget Guard: turns Cloud Billing budget notifications into brakes on Gemini API spend.

The function's entry point is ``main.budget_guard``; everything it does lives in this package:

- ``notification``: Pub/Sub message -> typed, verified ``Notification`` (pure).
- ``policy``: the policy document -> validated ``Policy`` (pure).
- ``decision``: ``Notification`` x ``Policy`` -> the rules that fire, per project (pure).
- ``ledger``: once-per-crossing claims and the audit trail (Firestore).
- ``actions``: the registry of brakes, each declaring its name and IAM permissions.
- ``executor``: runs a firing's actions through the ledger; dry run and protection live here.
- ``gcp``: the seam to Google's APIs (endpoints, credentials, retries).
- ``handler``: one CloudEvent in, everything above in order.

Nothing here imports a Google client at module level: a notification under every threshold
costs no client import.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
