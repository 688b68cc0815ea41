"""The guard's entry points, in-process, with the real objects of each layer that exists.

In-process rather than under functions-framework: every delivery happens at a simulated instant
and the next simulated minute must not start before the guard has finished, which a direct call
guarantees without wall-clock waits. What runs is what ``main.py`` runs: ``Guard`` (budget
notifications), ``Watchdog`` (ticks) and ``LeakGuard`` (abuse events) sharing one executor, the
Firestore ledger on the emulator, and the actions through the real client libraries to the
stand-in.

``available()`` says which layers this checkout has; a configuration that needs a missing one is
left out of the results.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any, TextIO

from functions.handler import Guard
from functions.log import Logger
from functions.policy import parse_policy
from sim.config import Config

__all__ = ["Guards", "available"]

_MODULES = {
    "watchdog": (
        "functions.watchdog.tick",
        "functions.watchdog.monitoring",
        "functions.watchdog.store",
    ),
    "leaked_key": ("functions.leakhandler",),
    "key_rate": ("functions.keyrate",),
    "model_lock": ("functions.quotas.lock",),
}


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def available() -> dict[str, bool]:
    """Layer name -> whether this checkout has it."""
    from functions.actions import REGISTRY

    have = {layer: all(map(_has, modules)) for layer, modules in _MODULES.items()}
    have["budget"] = True
    have["key_rate"] = have["key_rate"] and "revoke_offending_keys" in REGISTRY
    have["throttle"] = "throttle" in REGISTRY
    return have


class Guards:
    """One object per entry point, built from one policy document, logging to ``stream``."""

    def __init__(self, policy_doc: dict[str, Any], stream: TextIO, config: Config) -> None:
        self.policy = parse_policy(policy_doc)
        self.log = Logger({"component": "budget-guard"}, stream)
        guard = Guard(self.policy, log=self.log)
        have = available()
        self.budget: Callable[[Any], Any] = guard.handle
        self.watchdog: Callable[[Any], Any] | None = None
        self.leaked_key: Callable[[Any], Any] | None = None
        self.prevent: Callable[[Any], Any] | None = None
        if have["watchdog"] and config.tick_minutes:
            from functions.watchdog.tick import Watchdog

            self.watchdog = Watchdog(self.policy, guard.executor, log=self.log).handle
        if have["leaked_key"] and config.abuse_events:
            from functions.leakhandler import LeakGuard

            self.leaked_key = LeakGuard(self.policy, lambda: guard.executor, self.log).handle
