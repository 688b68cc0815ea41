"""What an action is: a name, the IAM permissions it needs, and a ``run`` that does one thing.

Actions never decide dry run or protection: the executor does, in one place, before ``run`` is
called. An action raises ActionFailed (permanent, with a remedy) or TransientError (retry later);
anything it returns is an Outcome recorded in the ledger.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from functions.decision import Firing
from functions.log import Logger
from functions.notification import Notification
from functions.policy import Policy

__all__ = ["Action", "Context", "Outcome"]


@dataclass
class Context:
    """Everything an action may use. ``progress`` survives retries; ``checkpoint`` persists it."""

    firing: Firing
    notification: Notification
    policy: Policy
    log: Logger
    progress: dict[str, Any] = field(default_factory=dict)
    checkpoint: Callable[[], None] = lambda: None

    @property
    def project(self) -> str:
        return self.firing.project


@dataclass(frozen=True)
class Outcome:
    """What an action did: ``done`` (changed something) or ``noop`` (nothing was needed)."""

    status: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


class Action(ABC):
    """One brake. Subclasses set the class attributes as data and implement ``run``."""

    name: ClassVar[str]
    summary: ClassVar[str]
    # IAM permissions needed on the guarded project (infra grants exactly these).
    permissions: ClassVar[frozenset[str]] = frozenset()
    # Policy keys the action reads.
    config: ClassVar[tuple[str, ...]] = ()
    # Touches the guarded project: never run on a protected one.
    mutates: ClassVar[bool] = True
    # Safe to run again without the ledger's claim (it reads state before it changes anything).
    idempotent: ClassVar[bool] = True
    # How strongly it stops spend (higher stops more): the executor runs the firings with the
    # strongest brakes first and leaves a stronger brake its share of the deadline.
    strength: ClassVar[int] = 0

    @abstractmethod
    def run(self, ctx: Context) -> Outcome:
        """Do the action for ``ctx.project``."""
