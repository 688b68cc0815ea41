"""The guard's entry points, in-process, with the real Guard objects of each layer that exists.

In-process rather than under functions-framework: every delivery happens at a simulated instant
and the next simulated minute must not start before the guard has finished, which a direct call
guarantees without wall-clock waits; the handler, executor, ledger (Firestore emulator) and
actions (real client libraries over HTTP to the stand-in) are the deployed code either way.

``available()`` says which layers this checkout has; a configuration that needs a missing one is
left out of the results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from functions.handler import Guard
from functions.log import Logger
from functions.policy import parse_policy

__all__ = ["Guards", "available"]


def available() -> dict[str, bool]:
    """Layer name -> whether this checkout has it."""
    from functions.actions import REGISTRY

    return {
        "budget": True,
        "watchdog": _watchdog_entry() is not None,
        "keys": "revoke_offending_keys" in REGISTRY and _leaked_key_entry() is not None,
        "quotas": "throttle" in REGISTRY,
    }


def _watchdog_entry() -> Any:
    return None


def _leaked_key_entry() -> Any:
    return None


class Guards:
    """One guard per entry point, built from one policy document, logging to ``stream``."""

    def __init__(self, policy_doc: dict[str, Any], stream: TextIO) -> None:
        self.policy = parse_policy(policy_doc)
        self.log = Logger({"component": "budget-guard"}, stream)
        self.budget: Callable[[Any], Any] = Guard(self.policy, log=self.log).handle
        self.watchdog: Callable[[Any], Any] | None = None
        self.leaked_key: Callable[[Any], Any] | None = None
