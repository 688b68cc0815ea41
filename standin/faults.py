"""Fault rules: make chosen calls of a method fail, hang, reset or slow down.

A rule (JSON, as posted to ``/_standin/faults``)::

    {"method": "<method id>" or "*",
     "fault": "429"|"500"|"503"|"403"|"timeout"|"reset"|"slow"|"cut",
     "calls": [1, 2],   # 1-based numbers of that method's calls since the rule was added
     "times": 2,        # or: the next N calls; neither: every call
     "delay": 0.5}      # slow: answer after this long; timeout: hold this long (default 30 s)

``cut`` carries the call out, then sends a 200 with ``Transfer-Encoding: chunked`` and closes the
connection in the middle of the body (a proxy or load balancer dropping an answer): requests
raises ``ChunkedEncodingError``.

Each rule counts the calls of its method on its own; the first rule (in order added) that fires
for a call decides that call. Codes ``400``, ``404``, ``409`` and ``504`` are accepted as well.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from standin.errors import STATUS_FOR_CODE

__all__ = ["CONNECTION_FAULTS", "FaultBook", "FaultRule", "parse_rule"]

#: Faults that are not an HTTP error answer.
CONNECTION_FAULTS = ("timeout", "reset", "slow", "cut")
_DEFAULT_DELAY = {"timeout": 30.0, "slow": 1.0}


@dataclass
class FaultRule:
    """One rule; ``seen`` counts the calls of ``method`` since it was added."""

    method: str
    fault: str
    calls: tuple[int, ...] | None = None
    times: int | None = None
    delay: float = 0.0
    seen: int = field(default=0, compare=False)

    @property
    def http_code(self) -> int | None:
        """The HTTP code this rule answers with, or ``None`` for a connection fault."""
        return None if self.fault in CONNECTION_FAULTS else int(self.fault)

    def observe(self) -> bool:
        """Count one call of the rule's method; whether the rule fires for it."""
        self.seen += 1
        if self.calls is not None:
            return self.seen in self.calls
        if self.times is not None:
            return self.seen <= self.times
        return True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "fault": self.fault, "seen": self.seen}
        if self.calls is not None:
            out["calls"] = list(self.calls)
        if self.times is not None:
            out["times"] = self.times
        if self.fault in _DEFAULT_DELAY:
            out["delay"] = self.delay
        return out


def parse_rule(data: Any) -> FaultRule:
    """A :class:`FaultRule` from its JSON form; ``ValueError`` says what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("fault rule: expected an object")
    unknown = set(data) - {"method", "fault", "calls", "times", "delay"}
    if unknown:
        raise ValueError(f"fault rule: unknown fields {sorted(unknown)}")
    method, fault = data.get("method"), str(data.get("fault", ""))
    if not isinstance(method, str) or not method:
        raise ValueError("fault rule: 'method' must be a method id or '*'")
    if fault not in CONNECTION_FAULTS and not (fault.isdigit() and int(fault) in STATUS_FOR_CODE):
        allowed = sorted(CONNECTION_FAULTS) + [str(c) for c in STATUS_FOR_CODE]
        raise ValueError(f"fault rule: 'fault' must be one of {allowed}")
    calls, times = data.get("calls"), data.get("times")
    if calls is not None and times is not None:
        raise ValueError("fault rule: give 'calls' or 'times', not both")
    if calls is not None and (
        not isinstance(calls, list) or not all(isinstance(n, int) and n >= 1 for n in calls)
    ):
        raise ValueError("fault rule: 'calls' must be a list of call numbers >= 1")
    if times is not None and (not isinstance(times, int) or times < 0):
        raise ValueError("fault rule: 'times' must be an integer >= 0")
    delay = data.get("delay", _DEFAULT_DELAY.get(fault, 0.0))
    if not isinstance(delay, (int, float)) or delay < 0:
        raise ValueError("fault rule: 'delay' must be a number of seconds >= 0")
    return FaultRule(
        method=method,
        fault=fault,
        calls=None if calls is None else tuple(calls),
        times=times,
        delay=float(delay),
    )


class FaultBook:
    """The active rules, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def fault_for(self, method_id: str) -> FaultRule | None:
        """Count this call against every matching rule; the first rule that fires, if any."""
        fired: FaultRule | None = None
        with self._lock:
            for rule in self._rules:
                if rule.method in (method_id, "*") and rule.observe() and fired is None:
                    fired = rule
        return fired
