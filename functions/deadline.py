"""The invocation's time budget: when this delivery must have given up on every call.

Owns ``BUDGET_GUARD_DEADLINE_SECONDS`` (Terraform sets it to the function's timeout less a
margin; ``DEFAULT_SECONDS`` when unset). The executor ``start``s the clock when a notification's
firings begin; ``functions.gcp`` bounds every call's retries (and each request's timeout) by
``remaining()``, so no retry outlives the delivery. ``share(parts)`` narrows the deadline for
the work done inside it to ``1/parts`` of what is left: an action followed by stronger brakes in
its rule leaves them their part. Deadlines live in a context variable: each firing's thread
carries its own narrowed copy (the executor runs firings with ``contextvars.copy_context``).
Outside any delivery (the CLI), there is no deadline: ``remaining()`` is None.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = [
    "DEFAULT_SECONDS",
    "ENV",
    "bound",
    "expired",
    "remaining",
    "seconds",
    "share",
    "start",
]

ENV = "BUDGET_GUARD_DEADLINE_SECONDS"
# The function's default timeout (300 s, the ledger's lease) less a 60 s margin: one request in
# flight (BUDGET_GUARD_TIMEOUT, 20 s) plus the ledger writes that record what is unfinished.
DEFAULT_SECONDS = 240.0

_until: ContextVar[float | None] = ContextVar("budget_guard_deadline", default=None)


def seconds() -> float:
    """The invocation's budget in seconds, from the environment."""
    value = float(os.environ.get(ENV) or DEFAULT_SECONDS)
    return value if value > 0 else DEFAULT_SECONDS


def start(budget: float | None = None) -> float:
    """Start this delivery's clock in the current context; the monotonic time it ends."""
    until = time.monotonic() + (seconds() if budget is None else budget)
    _until.set(until)
    return until


def remaining() -> float | None:
    """Seconds left before the deadline (never negative), or None when there is none."""
    until = _until.get()
    return None if until is None else max(0.0, until - time.monotonic())


def expired() -> bool:
    left = remaining()
    return left is not None and left <= 0.0


def bound(value: float) -> float:
    """``value`` seconds, but no more than what is left (a timeout or a retry deadline)."""
    left = remaining()
    return value if left is None else min(value, left)


@contextmanager
def share(parts: int) -> Iterator[None]:
    """Within the block, the deadline is ``1/parts`` of the time left (``parts`` >= 1)."""
    left = remaining()
    if left is None or parts <= 1:
        yield
        return
    token = _until.set(time.monotonic() + left / parts)
    try:
        yield
    finally:
        _until.reset(token)
