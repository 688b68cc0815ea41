"""What the HTTP layer serves from: the world, the fault rules, the call log, the stop signal."""

from __future__ import annotations

import threading
from typing import Any

from standin.calllog import CallLog
from standin.clock import Clock
from standin.faults import FaultBook
from standin.state import World

__all__ = ["Backend"]


class Backend:
    """Shared by every request thread; each part guards itself."""

    def __init__(self, seed: dict[str, Any]) -> None:
        self.world = World(seed)
        self.faults = FaultBook()
        self.calls = CallLog()
        #: The stand-in's time (Monitoring visibility); survives ``load``.
        self.clock = Clock()
        #: Set on stop: wakes calls held by ``timeout``/``slow`` faults.
        self.stopping = threading.Event()

    def load(self, seed: Any) -> None:
        """Replace the world; clears fault rules and the call log (not on a bad seed)."""
        self.world.replace(seed)
        self.faults.clear()
        self.calls.clear()
