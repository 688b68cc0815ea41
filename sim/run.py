"""One scenario under one configuration, minute by minute on the simulated clock.

Each simulated minute, in this order: the stand-in's clock is set to it; the billing model's
notifications that are due are published on the alerts topic and delivered to the guard; the
abuse event, when the scenario's detection minute has come; the watchdog's tick, when the tick
interval divides the minute; deliveries that failed transiently before (Pub/Sub would redeliver:
here, at the next minute, up to ``REDELIVERIES`` times); then the minute's traffic goes through
the Gemini stand-in's admission rules, which see every brake the guard applied so far.

Measured (``Result``): the attacker's billed cost from the leak's start, the minutes from the
leak's start to the first brake and to the end of the last minute with a billed attacker request,
the brake behind the attacker's refusals at the end, the legitimate requests refused.
Without a configuration (``config=None``) the guard is absent: the leak's cost if nothing stops it.
"""

from __future__ import annotations

import io
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sim import brakes as brakes_mod
from sim.config import Config, policy_doc
from sim.events import abuse_event, tick_event
from sim.monitoring_feed import MonitoringFeed
from sim.scenario import Scenario, Segment
from sim.world import ACCOUNT, BUDGET_ID, key_string, key_uid, seed
from standin import StandIn
from standin.billing_model import BillingModel, BillingSettings, BudgetSpec
from standin.gemini import Shape, Usage

__all__ = ["Brake", "Result", "run"]

REDELIVERIES = 10
#: Monitoring points older than this are dropped (the watchdog re-reads the last 15 minutes, or
#: since its last stored minute after missed ticks): keeps each query's scan short.
KEEP_POINTS = timedelta(hours=3)
IDLE_MARGIN = 20  # minutes: the re-read window (15) and Monitoring's ingestion delay
_GUARD_ENV = {
    "BUDGET_GUARD_TIMEOUT": "10",
    "BUDGET_GUARD_RETRY_DEADLINE": "2",
    "BUDGET_GUARD_RETRY_INITIAL": "0.02",
    "BUDGET_GUARD_OPERATION_TIMEOUT": "10",
    "BUDGET_GUARD_LEDGER_TIMEOUT": "10",
    # The watchdog refuses a tick stamped ahead of the wall clock unless the clock is simulated.
    "BUDGET_GUARD_SIMULATED_TIME": "1",
}


@dataclass(frozen=True)
class Brake:
    minute: int  # simulated minute of the delivery that applied it
    source: str  # "budget", "watchdog", "abuse", "preventive"
    change: str


@dataclass
class Result:
    scenario: str
    config: str
    leak_start: int | None
    leak_cost: Decimal = Decimal(0)
    legit_cost: Decimal = Decimal(0)
    attacker_requests: int = 0
    legit_requests: int = 0
    legit_refused: int = 0
    last_billed: int | None = None  # minute index of the last billed attacker request
    last_attack: int | None = None  # minute index of the attacker's last request
    held: str = ""
    brakes: list[Brake] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    attacker_curve: list[float] = field(default_factory=list)  # cumulative, per minute
    seconds: float = 0.0  # wall time the run took (reported on stderr, never in the table)

    @property
    def first_brake(self) -> int | None:
        """Minutes from the leak's start to the first brake (preventive ones count as 0)."""
        if self.leak_start is None or not self.brakes:
            return None
        return max(0, self.brakes[0].minute - self.leak_start)

    @property
    def to_last_billed(self) -> int | None:
        if self.leak_start is None or self.last_billed is None:
            return None
        return self.last_billed + 1 - self.leak_start

    @property
    def reactions(self) -> list[Brake]:
        """The brakes the guard applied while the scenario ran (not the preventive settings)."""
        return [b for b in self.brakes if b.source != "preventive"]

    @property
    def preventive(self) -> bool:
        return any(b.source == "preventive" for b in self.brakes)


def _budget(scenario: Scenario) -> BudgetSpec:
    b = scenario.budget
    return BudgetSpec(
        billing_account=ACCOUNT,
        budget_id=BUDGET_ID,
        amount=Decimal(str(b["amount"])),
        currency=scenario.currency,
        thresholds=tuple(Decimal(str(t)) for t in b.get("thresholds", (0.5, 0.9, 1.0))),
        period_start=str(b.get("period_start", "2026-11-01T00:00:00Z")),
        opening_cost=Decimal(str(b.get("opening_cost", 0))),
        per_usd=Decimal(str(b.get("per_usd", 1))),
    )


def _settings(scenario: Scenario) -> BillingSettings:
    s = scenario.billing
    low, high = s.get("cadence_minutes", (20, 60))
    return BillingSettings(int(s.get("lag_minutes", 300)), (int(low), int(high)), scenario.seed)


class _Deliverer:
    """Hands events to a guard entry point and records what changed in the world."""

    def __init__(self, standin: StandIn, scenario: Scenario, result: Result) -> None:
        self.standin, self.scenario, self.result = standin, scenario, result
        self.pending: list[tuple[str, Callable[[Any], Any], Any, int]] = []

    def deliver(self, minute: int, source: str, handler: Callable[[Any], Any], event: Any) -> None:
        self._attempt(minute, source, handler, event, 1)

    def _attempt(
        self, minute: int, source: str, handler: Callable[[Any], Any], event: Any, attempt: int
    ) -> None:
        before = brakes_mod.snapshot(self.standin.world, self.scenario.project)
        self.result.deliveries[source] = self.result.deliveries.get(source, 0) + 1
        try:
            handler(event)
        except Exception as exc:  # Pub/Sub redelivers whatever the function raised
            if attempt < REDELIVERIES:
                self.pending.append((source, handler, event, attempt + 1))
            else:
                self.result.failures.append(f"minute {minute} {source}: {exc}")
        after = brakes_mod.snapshot(self.standin.world, self.scenario.project)
        for change in sorted(after - before):
            self.result.brakes.append(Brake(minute, source, change))

    def redeliver(self, minute: int) -> None:
        pending, self.pending = self.pending, []
        for source, handler, event, attempt in pending:
            self._attempt(minute, source, handler, event, attempt)


def run(
    scenario: Scenario,
    config: Config | None,
    standin: StandIn,
    *,
    log_dir: Path | None = None,
    alerts_project: str = "demo-budget-guard",
) -> Result:
    """Simulate ``scenario`` guarded by ``config`` (None: unguarded) on a started ``standin``."""
    result = Result(scenario.name, config.name if config else "none", scenario.leak_start)
    started = time.monotonic()
    standin.set_state(seed(scenario))
    standin.set_clock(scenario.start)
    billing = BillingModel(_budget(scenario), scenario.start, _settings(scenario))
    standin.world.gemini.sinks[:] = [billing, MonitoringFeed(standin.world.monitoring)]
    stream: Any = io.StringIO()
    if log_dir is not None and config is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        stream = open(log_dir / f"{scenario.name}.{config.name}.log", "w", encoding="utf-8")  # noqa: SIM115
    driver = None
    try:
        if config is not None:
            driver = _Driver(scenario, config, standin, result, stream, alerts_project)
            driver.prepare()
        traffic = _Traffic(scenario, standin, billing, result)
        for minute in range(scenario.minutes):
            now = scenario.start + timedelta(minutes=minute)
            standin.set_clock(now)
            if driver is not None:
                driver.minute(minute, now, billing)
            accepted = traffic.minute(minute, now)
            if driver is not None:
                driver.accepted(accepted)
    finally:
        if driver is not None:
            driver.close()
        stream.close()
        standin.set_clock(None)
    result.seconds = time.monotonic() - started
    return result


class _Driver:
    """The guard's side of a run: its entry points and the events delivered to them."""

    def __init__(
        self,
        scenario: Scenario,
        config: Config,
        standin: StandIn,
        result: Result,
        stream: Any,
        alerts_project: str,
    ) -> None:
        from sim.alerts_topic import AlertsTopic
        from sim.guards import Guards

        os.environ.update(
            _GUARD_ENV,
            BUDGET_GUARD_GCP_ENDPOINT=standin.url,
            BUDGET_GUARD_MONITORING_ENDPOINT=standin.monitoring_endpoint,
        )
        from functions import gcp

        gcp.reset()
        self.scenario, self.config, self.standin, self.result = scenario, config, standin, result
        ledger_project = f"sim-{uuid.uuid4().hex[:12]}"
        doc = policy_doc(config, scenario, ledger_project)
        standin.set_scope(ledger_project, [scenario.project])
        legit = sorted({s.model for s in scenario.segments if s.who == "legit"})
        self.guards = Guards(doc, stream, config, scenario.project, legit)
        self.topic = AlertsTopic(alerts_project)
        self.deliverer = _Deliverer(standin, scenario, result)
        windows = [int(r.get("window_minutes") or 0) for r in doc["rules"]]
        #: Minutes without one accepted request after which a tick cannot fire anything: no
        #: spend is left in any rule's window nor in the 15 minutes the watchdog re-reads, and
        #: the period-to-date estimate cannot grow. Ticks resume with the next accepted request.
        self.idle_after = max([60, *windows]) + IDLE_MARGIN
        self.quiet_minutes = 0

    def prepare(self) -> None:
        """The one-time preventive settings, made before the simulation starts."""
        if self.guards.prevent is not None:
            self.deliverer.deliver(0, "preventive", self.guards.prevent, None)

    def minute(self, minute: int, now: datetime, billing: BillingModel) -> None:
        if minute % 60 == 0:
            _prune(self.standin, now - KEEP_POINTS)
        for at, alert in billing.due(now):
            self.topic.publish(alert, at)
        for event in self.topic.deliveries():
            self.deliverer.deliver(minute, "budget", self.guards.budget, event)
        detection = self.scenario.detection
        if (
            detection is not None
            and detection.minute == minute
            and self.guards.leaked_key is not None
        ):
            string = key_string(self.scenario, detection.key)
            event = abuse_event(self.scenario.project, string, now, f"abuse-{minute}")
            self.deliverer.deliver(minute, "abuse", self.guards.leaked_key, event)
        tick = self.config.tick_minutes
        if tick and self.guards.watchdog is not None and minute % tick == 0 and not self.idle:
            self.deliverer.deliver(minute, "watchdog", self.guards.watchdog, tick_event(now))
        self.deliverer.redeliver(minute)

    @property
    def idle(self) -> bool:
        return self.quiet_minutes >= self.idle_after

    def accepted(self, any_accepted: bool) -> None:
        self.quiet_minutes = 0 if any_accepted else self.quiet_minutes + 1

    def close(self) -> None:
        self.topic.close()


class _Traffic:
    """The callers' side: each segment's requests of the minute, through the Gemini stand-in."""

    def __init__(
        self, scenario: Scenario, standin: StandIn, billing: BillingModel, result: Result
    ) -> None:
        self.scenario, self.standin, self.billing, self.result = scenario, standin, billing, result
        self.requests = scenario.requests()
        self.strings = {name: key_string(scenario, name) for name in scenario.keys}
        self.uids = {name: key_uid(scenario, name) for name in scenario.keys}
        self.spent = Decimal(0)

    def minute(self, minute: int, now: datetime) -> bool:
        """Send the minute's requests; whether any was accepted."""
        accepted = False
        for segment, counts in zip(self.scenario.segments, self.requests, strict=True):
            n = counts.get(minute, 0)
            if n:
                accepted = self._send(segment, n, minute, now) or accepted
        self.result.attacker_curve.append(float(self.spent))
        return accepted

    def _send(self, segment: Segment, n: int, minute: int, now: datetime) -> bool:
        result = self.result
        shape = Shape(segment.model, segment.input_tokens, segment.output_tokens)
        admission = self.standin.traffic(self.strings[segment.key], shape, n)
        cost = self._cost(self.uids[segment.key], shape, admission.accepted, now)
        if segment.who == "legit":
            result.legit_requests += n
            result.legit_refused += admission.refused
            result.legit_cost += cost
            return admission.accepted > 0
        result.attacker_requests += n
        result.last_attack = minute
        result.leak_cost += cost
        self.spent += cost
        if cost > 0:
            result.last_billed = minute
        refused_all = admission.refused == n
        result.held = brakes_mod.held_by(admission.reason) if refused_all else ""
        return admission.accepted > 0

    def _cost(self, uid: str, shape: Shape, accepted: int, now: datetime) -> Decimal:
        if not accepted:
            return Decimal(0)
        world = self.standin.world
        with world.lock:
            project = world.projects[self.scenario.project]
            billed, number = bool(project.billing_account), project.number
        if not billed:
            return Decimal(0)
        tokens = (accepted * shape.input_tokens, accepted * shape.output_tokens)
        usage = Usage(now, self.scenario.project, number, uid, shape.model, 200, "", accepted,
                      *tokens, True)  # fmt: skip
        return self.billing.cost(usage)


def _prune(standin: StandIn, before: datetime) -> None:
    monitoring = standin.world.monitoring
    with monitoring.lock:
        for point in [p for p in monitoring.points if p.minute < before]:
            del monitoring.points[point]
