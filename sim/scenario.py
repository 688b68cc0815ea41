"""The scenario format (sim/scenarios/*.json; documented in docs/SIMULATION.md), validated.

A scenario is the world (one project, its keys, budget, quotas, Cloud Billing's delays) and the
traffic: piecewise segments of requests per minute, each from the attacker or a legitimate user,
with a key, a model and a request shape. ``detection`` is when Google's abuse systems report the
leaked key (an abuse-event log entry). Request counts per minute get a seeded jitter, so runs
are deterministic. A bad file raises ``ScenarioError`` naming the field.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["Detection", "Scenario", "ScenarioError", "Segment", "load_scenario"]


class ScenarioError(ValueError):
    """A scenario file that does not follow the format; the message names the field."""


@dataclass(frozen=True)
class Segment:
    """``rpm`` requests a minute from ``start`` to ``end`` (minutes, end excluded); with
    ``rpm_end`` the rate moves to it linearly or exponentially (``growth``)."""

    who: str  # "attacker" or "legit"
    key: str
    model: str
    input_tokens: int
    output_tokens: int
    start: int
    end: int
    rpm: float
    rpm_end: float | None = None
    growth: str = "linear"

    def rate(self, minute: int) -> float:
        if not self.start <= minute < self.end:
            return 0.0
        if self.rpm_end is None or self.end - self.start <= 1:
            return self.rpm
        x = (minute - self.start) / (self.end - self.start - 1)
        if self.growth == "exponential" and self.rpm > 0 and self.rpm_end > 0:
            return self.rpm * math.exp(x * math.log(self.rpm_end / self.rpm))
        return self.rpm + x * (self.rpm_end - self.rpm)


@dataclass(frozen=True)
class Detection:
    minute: int
    key: str


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    source: str
    start: datetime
    minutes: int
    project: str
    budget: dict[str, Any]
    billing: dict[str, Any]
    keys: dict[str, dict[str, Any]]
    quotas: dict[str, dict[str, int]]
    segments: tuple[Segment, ...]
    detection: Detection | None
    seed: int = 1
    jitter: float = 0.0
    must_not_stop: bool = False
    extra_runs: tuple[tuple[str, int], ...] = ()  # (configuration name, tick minutes)

    @property
    def leak_start(self) -> int | None:
        starts = [s.start for s in self.segments if s.who == "attacker"]
        return min(starts) if starts else None

    @property
    def currency(self) -> str:
        return str(self.budget.get("currency", "USD"))

    def requests(self) -> list[dict[int, int]]:
        """Per segment, minute -> requests sent (jittered with the scenario's seed)."""
        rng = random.Random(self.seed)
        out = []
        for segment in self.segments:
            counts = {}
            for minute in range(segment.start, min(segment.end, self.minutes)):
                rate = segment.rate(minute)
                noisy = rate * (1 + rng.uniform(-self.jitter, self.jitter))
                counts[minute] = max(0, round(noisy))
            out.append(counts)
        return out


def _get(doc: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = doc.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ScenarioError(f"{where}{name}: expected {kind}, got {value!r}")
    return value


def _segment(doc: Any, i: int, keys: dict[str, Any], minutes: int) -> Segment:
    where = f"traffic[{i}]."
    if not isinstance(doc, dict):
        raise ScenarioError(f"traffic[{i}]: expected an object")
    who = _get(doc, "who", str, where)
    if who not in ("attacker", "legit"):
        raise ScenarioError(f"{where}who: 'attacker' or 'legit', got {who!r}")
    key = _get(doc, "key", str, where)
    if key not in keys:
        raise ScenarioError(f"{where}key: {key!r} is not in keys")
    start, end = _get(doc, "from", int, where), _get(doc, "to", int, where)
    if not 0 <= start < end:
        raise ScenarioError(f"{where}from/to: need 0 <= from < to")
    rpm_end = doc.get("rpm_end")
    growth = doc.get("growth", "linear")
    if growth not in ("linear", "exponential"):
        raise ScenarioError(f"{where}growth: 'linear' or 'exponential'")
    return Segment(
        who=who,
        key=key,
        model=_get(doc, "model", str, where),
        input_tokens=_get(doc, "input_tokens", int, where),
        output_tokens=_get(doc, "output_tokens", int, where),
        start=start,
        end=min(end, minutes),
        rpm=float(_get(doc, "rpm", (int, float), where)),
        rpm_end=None if rpm_end is None else float(rpm_end),
        growth=growth,
    )


def parse_scenario(doc: Any) -> Scenario:
    if not isinstance(doc, dict):
        raise ScenarioError("scenario: expected an object")
    minutes = _get(doc, "minutes", int, "")
    keys = _get(doc, "keys", dict, "")
    budget = _get(doc, "budget", dict, "")
    try:
        Decimal(str(budget["amount"]))
    except (KeyError, ArithmeticError) as exc:
        raise ScenarioError("budget.amount: a number is required") from exc
    traffic = _get(doc, "traffic", list, "")
    segments = tuple(_segment(s, i, keys, minutes) for i, s in enumerate(traffic))
    detection = None
    if doc.get("detection") is not None:
        d = _get(doc, "detection", dict, "")
        where = "detection."
        detection = Detection(_get(d, "minute", int, where), _get(d, "key", str, where))
        if detection.key not in keys:
            raise ScenarioError(f"detection.key: {detection.key!r} is not in keys")
    try:
        start = datetime.fromisoformat(_get(doc, "start", str, "").replace("Z", "+00:00"))
    except ValueError as exc:
        raise ScenarioError(f"start: {exc}") from exc
    return Scenario(
        name=_get(doc, "name", str, ""),
        title=_get(doc, "title", str, ""),
        source=str(doc.get("source", "")),
        start=start,
        minutes=minutes,
        project=str(doc.get("project", "gemini-prod")),
        budget=budget,
        billing=dict(doc.get("billing") or {}),
        keys=keys,
        quotas=dict(doc.get("quotas") or {}),
        segments=segments,
        detection=detection,
        seed=int(doc.get("seed", 1)),
        jitter=float(doc.get("jitter", 0.0)),
        must_not_stop=bool(doc.get("must_not_stop", False)),
        extra_runs=tuple(
            (str(r["config"]), int(r["tick_minutes"])) for r in doc.get("extra_runs") or ()
        ),
    )


def load_scenario(path: str | Path) -> Scenario:
    with open(path, encoding="utf-8") as fh:
        return parse_scenario(json.load(fh))
