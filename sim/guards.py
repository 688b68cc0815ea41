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

import contextlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
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
    "model_lock": ("functions.cli.lock_models", "functions.quotas.plan"),
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
    # The per-key rule exists once the watchdog evaluates it (functions.keyrate wired in).
    have["key_rate"] = (
        have["key_rate"] and have["watchdog"] and "revoke_offending_keys" in REGISTRY and _wired()
    )
    have["throttle"] = "throttle" in REGISTRY
    return have


def _wired() -> bool:
    spec = importlib.util.find_spec("functions.watchdog")
    folder = Path(spec.origin).parent if spec and spec.origin else None
    return folder is not None and any(
        "keyrate" in path.read_text(encoding="utf-8") for path in folder.glob("*.py")
    )


def lock_models(project: str, allow: list[str], stream: TextIO) -> Callable[[Any], Any]:
    """The operator's one-time ``budget-guard lock-models`` (the real CLI, through the real
    Cloud Quotas client to the stand-in), as a delivery the runner can time."""

    def run(_event: Any) -> None:
        from functions.cli import main

        argv = ["lock-models", "--project", project, "--allow", ",".join(allow), "--yes"]
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
            code = main(argv)
        if code != 0:
            raise RuntimeError(f"lock-models exited {code}")

    return run


class Guards:
    """One object per entry point, built from one policy document, logging to ``stream``."""

    def __init__(
        self,
        policy_doc: dict[str, Any],
        stream: TextIO,
        config: Config,
        project: str = "",
        legitimate_models: list[str] | None = None,
    ) -> None:
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
        lock = config.preventive.get("lock_models")
        if have["model_lock"] and lock is not None:
            allow = lock.get("allow")
            models = list(legitimate_models or []) if allow == "legitimate" else list(allow)
            self.prevent = lock_models(project, models, stream)
