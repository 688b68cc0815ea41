"""One watchdog tick: read usage, overwrite buckets, price, evaluate, act (the I/O lives here).

A Cloud Scheduler job publishes to the watchdog's topic every ``interval_minutes``; the tick's
Pub/Sub ``publishTime`` is the watchdog's "now" (so tests and simulations drive time). One tick:

  1. reads the last ``REREAD_MINUTES`` minutes of usage from Cloud Monitoring (from the last
     tick instead when ticks were missed, at most ``MAX_CATCH_UP``), one query per metric over
     the metrics scope, and overwrites those per-minute buckets in Firestore;
  2. in one optimistic update of the watchdog state (functions/watchdog/state.py): reads back
     from the store the period to date, each rule's window (and the trailing week for
     ``baseline``), exact sums whatever was re-read, prices them (functions/watchdog/pricing.py)
     and evaluates the watchdog rules (functions/watchdog/rules.py);
  3. runs the firings through the guard's own executor and ledger, one ``Notification`` per budget
     (functions/watchdog/trigger.py), so claims, dry run, protection and the audit trail are the
     budget notifications' own.

Logs (a contract the alert policies and dashboard read): one INFO ``watchdog tick`` (``tick``,
``projects``, ``minutes_read``), one INFO ``watchdog estimate`` per (budget, project) (``budget``,
``project``, ``estimate``, ``budget_amount``, ``currency``), one WARNING naming the unknown models.
Errors: a malformed tick event is logged and acknowledged, and so is a ``publishTime`` more than
``CLOCK_SKEW`` ahead of the instance's clock (Pub/Sub sets it, so it is forged; accepted, it would
move ``last_tick`` ahead and stop later ticks catching up; ``BUDGET_GUARD_SIMULATED_TIME`` lifts
that bound for the demo's simulated clock). ``ActionFailed`` (Monitoring refusing for good) is one
ERROR with its remedy, acknowledged: the next tick catches up. ``TransientError`` (Monitoring,
Firestore, an action) is raised after every budget's firings ran, so Pub/Sub redelivers the tick.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from functions import deadline, keyrate
from functions.decision import Firing
from functions.errors import ActionFailed, MalformedMessage, TransientError
from functions.log import Logger, logger
from functions.notification import _timestamp, from_cloud_event
from functions.policy import Policy
from functions.prices import Prices, load_prices
from functions.watchdog import spend
from functions.watchdog.config import WatchdogConfig
from functions.watchdog.pricebook import PriceBook, Refresh, catalog_refresh
from functions.watchdog.pricing import Priced, price
from functions.watchdog.rules import Estimates, evaluate, iso
from functions.watchdog.state import State, WatchdogStore
from functions.watchdog.trigger import tick_notification
from functions.watchdog.usage import KeyUsage, TokenUsage, minute_of

__all__ = ["MAX_CATCH_UP", "Buckets", "Reader", "Watchdog"]

MAX_CATCH_UP = timedelta(hours=24)
MINUTE = timedelta(minutes=1)
SIMULATED_TIME_ENV = "BUDGET_GUARD_SIMULATED_TIME"
# Pub/Sub stamps publishTime before it delivers: later than the receiving clock only by skew.
CLOCK_SKEW = timedelta(minutes=5)
# Before Cloud Pub/Sub existed, or past what datetime arithmetic allows: garbage, not a tick.
EARLIEST, LATEST = datetime(2015, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def _tick_time(raw: Any) -> datetime:
    """A tick's publishTime, or ``ValueError`` saying why it cannot be one."""
    now = _timestamp(raw)
    latest = LATEST if os.environ.get(SIMULATED_TIME_ENV) else datetime.now(UTC) + CLOCK_SKEW
    if now < EARLIEST:
        raise ValueError(f"publishTime {iso(now)} is before {iso(EARLIEST)}")
    if now > latest:
        raise ValueError(f"publishTime {iso(now)} is ahead of this instance's clock")
    return now


class Reader(Protocol):
    def tokens(self, start: datetime, end: datetime) -> list[TokenUsage]: ...

    def key_requests(self, start: datetime, end: datetime) -> list[KeyUsage]: ...


class Buckets(Protocol):
    def write_tokens(self, rows: Sequence[TokenUsage]) -> Any: ...

    def write_keys(self, rows: Sequence[KeyUsage]) -> Any: ...

    def tokens_between(
        self, projects: Sequence[str], start: datetime, end: datetime
    ) -> list[TokenUsage]: ...

    def keys_between(
        self, projects: Sequence[str], start: datetime, end: datetime
    ) -> list[KeyUsage]: ...

    def last_minute(self) -> datetime | None: ...


class Executor(Protocol):
    def run(
        self, n: Any, firings: list[Firing], budget: float | None = None
    ) -> list[dict[str, Any]]: ...

    @property
    def ledger(self) -> Any: ...


class Watchdog:
    """The watchdog for one policy; its clients are built on the first tick."""

    def __init__(
        self,
        policy: Policy,
        executor: Executor,
        reader: Callable[[], Reader] | None = None,
        buckets: Callable[[], Buckets] | None = None,
        state: Callable[[], WatchdogStore] | None = None,
        prices: Prices | None = None,
        log: Logger = logger,
        catalog: Refresh | None = catalog_refresh,
    ) -> None:
        self.policy = policy
        self.config = policy.watchdog or WatchdogConfig(scope_project=policy.ledger.project)
        self.executor = executor
        self.projects = sorted({p for b in policy.budgets.values() for p in b.projects})
        # A project's rate and baseline rules run in its first budget's currency (rules.py).
        self._owner = {p: b.id for b in reversed(list(policy.budgets.values())) for p in b.projects}
        self._factories = {
            "reader": reader or self._monitoring_reader,
            "buckets": buckets or self._usage_store,
            "state": state or self._state_store,
        }
        self._built: dict[str, Any] = {}
        self.log = log.bind(component="budget-guard-watchdog")
        self.book = PriceBook(
            prices or load_prices(), self.config.unknown_model_rate, self.log, catalog
        )
        self.prices = self.book.table(self.book.currency, date.today())  # the base table

    # --- clients, built once on first use ------------------------------------------------------

    def _client(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self._factories[name]()
        return self._built[name]

    def _monitoring_reader(self) -> Reader:
        from functions.watchdog.monitoring import UsageReader

        return UsageReader(self.config.scope_project, self.projects, self.policy.services)

    def _usage_store(self) -> Buckets:
        from functions.watchdog.store import UsageStore

        return UsageStore(self.policy.ledger)

    def _state_store(self) -> WatchdogStore:
        from functions.watchdog.state import FirestoreWatchdogStore

        return FirestoreWatchdogStore(self.policy.ledger)

    # --- the tick ----------------------------------------------------------------------------

    def handle(self, cloud_event: Any) -> dict[str, Any]:
        """One Scheduler tick as a Pub/Sub CloudEvent; raising makes Pub/Sub redeliver it."""
        try:
            message = from_cloud_event(cloud_event)
            raw = message.get("publishTime") or message.get("publish_time")
            if raw is None:
                raise MalformedMessage("tick has no publishTime")
            now = _tick_time(raw)
        except (MalformedMessage, ValueError) as exc:
            self.log.warning(f"malformed tick ignored: {exc}", rejected="malformed")
            return {}
        try:
            return self.tick(now)
        except ActionFailed as exc:  # redelivery would fail alike; the next tick catches up
            self.log.error(f"watchdog tick failed: {exc.reason}", remedy=exc.remedy, tick=iso(now))
            return {}

    def tick(self, now: datetime) -> dict[str, Any]:
        """Run one tick as of ``now`` (the publish time); return what it saw and did.

        The invocation's deadline (``BUDGET_GUARD_DEADLINE_SECONDS``) starts here: the reads
        spend from it, and the firings get what is left.
        """
        deadline.start()
        minute = minute_of(now)
        self.book.check_drift(minute.date())
        start = self._read_start(minute)
        reader, buckets = self._client("reader"), self._client("buckets")
        end = minute + MINUTE
        with ThreadPoolExecutor(1) as pool:  # requests per key alongside the tokens
            keys = pool.submit(lambda: buckets.write_keys(reader.key_requests(start, end)))
            buckets.write_tokens(reader.tokens(start, end))
            keys.result()
        minutes_read = int((minute + MINUTE - start) / MINUTE)
        self.log.info(
            "watchdog tick", tick=iso(now), projects=len(self.projects), minutes_read=minutes_read
        )
        outcome: dict[str, Any] = {}

        def change(state: State) -> State:
            new, found = self._evaluate(state, minute, start, buckets)
            outcome.update(found)
            return new

        self._client("state").update(change)
        self._log_estimates(outcome["estimates"], outcome["unknown"])
        results = self._act(outcome["firings"], outcome["estimates"], now)
        return {
            "tick": iso(now),
            "minutes_read": minutes_read,
            "estimates": outcome["estimates"],
            "firings": outcome["firings"],
            "results": results,
            "unknown_models": sorted(outcome["unknown"]),
        }

    def _read_start(self, minute: datetime) -> datetime:
        """The last 15 minutes; after missed ticks, from the last tick's 15 (at most a day back).

        Anchored on the last tick rather than on the newest stored minute: an idle project
        writes no buckets, and would otherwise make every tick read a whole day. Without a
        state (first tick, or lost) the store's newest minute is the anchor.
        """
        reread = timedelta(minutes=spend.REREAD_MINUTES - 1)
        start = minute - reread
        last = self._client("state").state().last_tick or self._client("buckets").last_minute()
        if last is not None and last < start:  # ticks were missed
            # From what the last tick re-read: it could not see its own last minutes yet.
            start = max(minute_of(last) - reread, minute - MAX_CATCH_UP)
        return start

    def _evaluate(
        self, state: State, minute: datetime, start: datetime, buckets: Buckets
    ) -> tuple[State, dict[str, Any]]:
        """Estimates and firings from the store's exact sums; the new state."""
        windows = {r.window_minutes for r in self.policy.rules if r.window_minutes}
        baseline = any(r.basis == "baseline" for r in self.policy.rules)
        periods = {b.calendar_period or "MONTH" for b in self.policy.budgets.values()}
        rows = {
            what: buckets.tokens_between(self.projects, a, b)
            for what, (a, b) in spend.spans(minute, windows, baseline, periods).items()
        }
        priced: dict[tuple[str, str], Priced] = {}

        def cost(what: str, currency: str) -> dict[tuple[str, datetime], Decimal]:
            if (what, currency) not in priced:
                table = self.book.table(currency, minute.date())
                priced[(what, currency)] = price(rows[what], table)
            return priced[(what, currency)].cost

        estimates: Estimates = {
            b.id: {
                p: spend.total(
                    cost(f"period:{b.calendar_period or 'MONTH'}", self._currency(b.id)), p
                )
                for p in b.projects
            }
            for b in self.policy.budgets.values()
        }

        def window_spend(project: str, minutes: int, since: datetime | None) -> Decimal:
            currency = self._currency(self._owner[project])
            if since is None or since <= minute - timedelta(minutes=minutes - 1):
                return spend.total(cost(f"window:{minutes}", currency), project)
            what = f"since:{project}:{iso(since)}"  # after a restore: only what came since
            if what not in rows:
                rows[what] = buckets.tokens_between([project], since, minute + MINUTE)
            return spend.total(cost(what, currency), project)

        def trailing(project: str) -> Decimal:
            if not baseline:
                return Decimal(0)
            return spend.total(cost("trailing", self._currency(self._owner[project])), project)

        bursts = dict(state.bursts)
        firings = evaluate(
            self.policy, minute, estimates, window_spend, trailing, bursts, self._restored
        )
        firings = {
            b: [self._with_busiest_key(f, minute, buckets) for f in found]
            for b, found in firings.items()
        }
        firings = self._per_key(firings, buckets, minute, window_spend, bursts)
        newest = state.last_tick is None or minute >= state.last_tick
        counting = min(state.counting_since or start, start)
        new = state.but(
            counting_since=counting,
            bursts=bursts,
            last_tick=minute if newest else state.last_tick,
            report=self._report(minute, start, counting, estimates) if newest else state.report,
        )
        unknown = set().union(*(p.unknown for p in priced.values()))
        return new, {"estimates": estimates, "firings": firings, "unknown": unknown}

    def _with_busiest_key(self, firing: Firing, minute: datetime, buckets: Buckets) -> Firing:
        """A rate or baseline firing's reason names the API key with most requests in its
        window (its uid, never its string): where an operator looks first."""
        window = firing.rule.window_minutes
        if window is None:
            return firing
        start = minute - timedelta(minutes=window - 1)
        counts: dict[str, int] = {}
        for row in buckets.keys_between([firing.project], start, minute + MINUTE):
            counts[row.key_uid] = counts.get(row.key_uid, 0) + row.requests
        if not counts:
            return firing
        uid = max(counts, key=lambda k: (counts[k], k))
        why = f"{firing.reason}; busiest API key {uid}: {counts[uid]} requests in the window"
        return replace(firing, reason=why)

    def _per_key(
        self,
        by_budget: dict[str, list[Firing]],
        buckets: Buckets,
        minute: datetime,
        window_spend: Callable[[str, int, datetime | None], Decimal],
        bursts: dict[str, Any],
    ) -> dict[str, list[Firing]]:
        """Rate rules with revoke_offending_keys act per key: one firing per key whose share of
        the window's spend crossed, none for the others (functions/keyrate.py)."""
        out: dict[str, list[Firing]] = {}
        for budget_id, firings in by_budget.items():
            made: list[Firing] = []
            for f in firings:
                if not keyrate.is_per_key(f):
                    made.append(f)
                    continue
                assert f.rule.window_minutes is not None
                burst = bursts.get(f"{f.rule.name}|{f.project}")
                since = burst.since if burst is not None else None
                start = minute - timedelta(minutes=f.rule.window_minutes - 1)
                requests: dict[str, int] = {}
                for row in buckets.keys_between(
                    [f.project], max(start, since or start), minute + MINUTE
                ):
                    requests[row.key_uid] = requests.get(row.key_uid, 0) + row.requests
                spent = window_spend(f.project, f.rule.window_minutes, since)
                made += keyrate.per_key_firings(f, requests, spent)
            if made:
                out[budget_id] = made
        return out

    def _restored(self, doc_id: str) -> datetime | None:
        record = self.executor.ledger.get(doc_id)
        at = (record or {}).get("restored_at")
        return minute_of(datetime.fromisoformat(at)) + MINUTE if isinstance(at, str) else None

    def _currency(self, budget_id: str) -> str:
        return self.policy.budgets[budget_id].currency or self.prices.currency

    def _report(
        self, minute: datetime, start: datetime, counting: datetime, estimates: Estimates
    ) -> dict[str, Any]:
        return {
            "tick": iso(minute),
            "read_from": iso(start),
            "counting_since": iso(counting),
            "period": iso(spend.period_start(minute)),
            "budgets": {
                budget_id: {
                    "period": iso(
                        spend.budget_period_start(
                            minute, self.policy.budgets[budget_id].calendar_period
                        )
                    ),
                    "estimate": str(sum(per.values(), Decimal(0))),
                    "amount": _str(self.policy.budgets[budget_id].amount),
                    "currency": self._currency(budget_id),
                    "projects": {p: str(v) for p, v in per.items()},
                }
                for budget_id, per in estimates.items()
            },
        }

    def _log_estimates(self, estimates: Estimates, unknown: set[str]) -> None:
        if unknown:
            self.log.warning(
                "watchdog: models missing from the price table, priced at the unknown-model rate "
                f"({self.prices.unknown.input}/{self.prices.unknown.output} per 1M tokens): "
                + ", ".join(sorted(unknown)),
                models=sorted(unknown),
            )
        for budget_id, per in estimates.items():
            amount = self.policy.budgets[budget_id].amount
            for project, value in per.items():
                self.log.info(
                    "watchdog estimate",
                    budget=budget_id,
                    project=project,
                    estimate=float(value),
                    budget_amount=None if amount is None else float(amount),
                    currency=self._currency(budget_id),
                )

    def _act(
        self, by_budget: dict[str, list[Firing]], estimates: Estimates, now: datetime
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        transient: list[TransientError] = []
        for budget_id, firings in by_budget.items():
            total = sum(estimates.get(budget_id, {}).values(), Decimal(0))
            n = tick_notification(self.policy, budget_id, total, now, self._currency(budget_id))
            try:
                results.extend(self.executor.run(n, firings, deadline.remaining()))
            except TransientError as exc:
                transient.append(exc)
        if transient:
            raise transient[0]
        return results


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
