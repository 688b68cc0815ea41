"""The guard's errors: one root, a flat tree, one line of meaning each.

    GuardError
    ├── PolicyError          the policy document is invalid; raised at start-up
    ├── RejectedMessage      a notification that must not be acted on; logged and acknowledged
    │   ├── MalformedMessage     not a well-formed budget notification
    │   └── SpoofedMessage       well-formed, but not from a budget this policy guards
    ├── TransientError       worth retrying; raised out of the function so Pub/Sub redelivers
    │   ├── LedgerUnavailable    the ledger could not be read or written
    │   │   └── LedgerMisconfigured  it refuses for good (no database, Datastore mode, no
    │   │                            permission): one ERROR with the fix, then as unavailable
    │   └── CrossingBusy         another instance holds this crossing's lease
    ├── ActionFailed         failed until a human applies the remedy; logged at ERROR
    └── LeaseLost            another instance took this crossing's lease over: this holder stops

Messages never carry key strings: ``redact`` runs over every message that leaves the guard.
"""

from __future__ import annotations

__all__ = [
    "ActionFailed",
    "CrossingBusy",
    "GuardError",
    "LeaseLost",
    "LedgerMisconfigured",
    "LedgerUnavailable",
    "MalformedMessage",
    "PolicyError",
    "RejectedMessage",
    "SpoofedMessage",
    "TransientError",
]


class GuardError(Exception):
    """Root of every error the guard raises on purpose."""


class PolicyError(GuardError):
    """The policy document is invalid; the message starts with the path of the bad field."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


class RejectedMessage(GuardError):
    """A notification the guard must not act on; it is logged and acknowledged."""

    kind = "rejected"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedMessage(RejectedMessage):
    """The message is not a well-formed budget notification."""

    kind = "malformed"


class SpoofedMessage(RejectedMessage):
    """The message is well-formed but does not come from a budget this policy guards."""

    kind = "spoofed"


class TransientError(GuardError):
    """A failure worth retrying; raised out of the function so that Pub/Sub redelivers."""


class LedgerUnavailable(TransientError):
    """The ledger could not be read or written."""


class LedgerMisconfigured(LedgerUnavailable):
    """The ledger refuses every request until a human fixes it; ``remedy`` says how."""

    def __init__(self, reason: str, remedy: str) -> None:
        super().__init__(f"{reason}. Fix: {remedy}")
        self.reason = reason
        self.remedy = remedy


class CrossingBusy(TransientError):
    """Another instance holds the lease on this crossing right now."""


class ActionFailed(GuardError):
    """An action failed and will keep failing until a human applies the remedy it names."""

    def __init__(self, reason: str, remedy: str) -> None:
        super().__init__(f"{reason}. Fix: {remedy}")
        self.reason = reason
        self.remedy = remedy


class LeaseLost(GuardError):
    """Another instance took over the lease on a crossing this one held: it must act no more.

    Not a TransientError on purpose: actions catch those to go on with their next item, and a
    holder that lost its lease must stop at once. The executor logs it once and redelivers.
    """
