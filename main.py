"""Cloud Function entry points (Cloud Run functions, gen2): ``budget_guard``,
``usage_watchdog``, ``leaked_key``.

Deployed with an Eventarc Pub/Sub trigger on the budget's topic; a raw Pub/Sub push body works
too (functions-framework turns it into the same CloudEvent). The policy is loaded and validated at
start-up, so a bad policy fails the deployment loudly instead of the first alert quietly.
``leaked_key`` is deployed as its own service, triggered by the topic the abuse-event log sink
writes to (infra/keys.tf): it revokes the key a LEAKED_CREDENTIALS event names.
"""

from __future__ import annotations

from typing import Any

import functions_framework

from functions.errors import PolicyError
from functions.handler import Guard
from functions.leakhandler import LeakGuard
from functions.log import logger

__all__ = ["budget_guard", "leaked_key", "usage_watchdog"]

try:
    _guard = Guard.from_env()
except PolicyError as exc:
    logger.error(f"invalid policy, the guard cannot start: {exc}", field=exc.path)
    raise


@functions_framework.cloud_event
def budget_guard(cloud_event: Any) -> None:
    """Handle one budget notification. Raising makes Pub/Sub redeliver it."""
    _guard.handle(cloud_event)


_watchdog: Any = None


@functions_framework.cloud_event
def usage_watchdog(cloud_event: Any) -> None:
    """Handle one Cloud Scheduler tick (functions/watchdog/tick.py). Raising redelivers it."""
    global _watchdog
    if _watchdog is None:
        from functions.watchdog.tick import Watchdog

        _watchdog = Watchdog(_guard.policy, _guard.executor)
    _watchdog.handle(cloud_event)


_leak_guard = LeakGuard(_guard.policy, lambda: _guard.executor, logger)


@functions_framework.cloud_event
def leaked_key(cloud_event: Any) -> None:
    """Handle one abuse-event log entry. Raising makes Pub/Sub redeliver it."""
    _leak_guard.handle(cloud_event)
