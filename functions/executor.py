"""The executor: runs each firing's actions through the ledger. Dry run and protection live here.

For every firing: claim its crossing (a duplicate stops here), then run each action that is not
settled yet, in the rule's order, recording each outcome in the ledger as it happens:

    dry run                -> "would_run"  (nothing runs; the record says exactly what would)
    protected project      -> "skipped"    for actions that touch the project
    Outcome                -> "done" / "noop"
    ActionFailed           -> "failed"     ERROR log with the remedy; the next delivery retries it
    TransientError         -> "retrying"   ERROR log; raised at the end so Pub/Sub redelivers
    deadline reached       -> "retrying"   not started; raised so Pub/Sub redelivers

One action's failure never stops the next brake. Firings run concurrently in a bounded pool,
those whose strongest brake stops the most spend first (``Action.strength``), all within the
invocation's deadline (``functions.deadline``); within a firing, an action followed by stronger
brakes may use only its share of the time left (1 / (1 + the stronger brakes after it)), so a
weak action's retries never eat a stronger brake's time. When the ledger itself is unreachable,
only the actions declared idempotent run (they read state first, so repeating them is safe); the
others wait, and the error is raised so that Pub/Sub redelivers (docs/RELIABILITY.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any

from functions import deadline
from functions.actions import REGISTRY, Action, Context
from functions.decision import Firing
from functions.errors import (
    ActionFailed,
    CrossingBusy,
    LeaseLost,
    LedgerMisconfigured,
    LedgerUnavailable,
    TransientError,
)
from functions.ledger import Claim, Ledger
from functions.log import Logger
from functions.notification import Notification
from functions.policy import Policy
from functions.restored import on_record as restore_on_record

__all__ = ["WORKERS", "Executor"]

# Firings run at once, at most. Each holds one thread; the calls it makes wait on the network.
WORKERS = 16


class _Delivery:
    """What the firings of one delivery share: whether the ledger was found unreachable."""

    def __init__(self) -> None:
        self.ledger_down: LedgerUnavailable | None = None
        self.lock = threading.Lock()

    def found_down(self, exc: LedgerUnavailable) -> bool:
        """Record the ledger as down; True for the first firing to find it so."""
        with self.lock:
            first, self.ledger_down = self.ledger_down is None, self.ledger_down or exc
            return first


class Executor:
    """Runs firings; ``ledger`` is built on first use so a quiet notification never builds it."""

    def __init__(
        self,
        policy: Policy,
        ledger: Callable[[], Ledger],
        log: Logger,
        registry: Mapping[str, type[Action]] = REGISTRY,
        restored: Callable[[str, str], bool] = restore_on_record,
    ) -> None:
        self.policy = policy
        self.restored = restored
        self._ledger_factory = ledger
        self._ledger: Ledger | None = None
        self._ledger_lock = threading.Lock()
        self.log = log
        self.registry = registry

    @property
    def ledger(self) -> Ledger:
        with self._ledger_lock:  # the firings' threads share one
            if self._ledger is None:
                self._ledger = self._ledger_factory()
            return self._ledger

    def run(
        self, n: Notification, firings: list[Firing], budget: float | None = None
    ) -> list[dict[str, Any]]:
        """Run every firing; raise TransientError at the end if any needs a redelivery.

        The firings run concurrently (at most ``WORKERS`` at once), those with the strongest
        brake first, all against the invocation's deadline (``functions.deadline``): the whole
        budget, or ``budget`` seconds when the caller spent some already (the usage watchdog).
        """
        deadline.start(budget)
        shared = _Delivery()
        order = sorted(range(len(firings)), key=lambda i: -self._strength(firings[i].rule.actions))
        outcomes: dict[int, dict[str, Any] | TransientError] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(WORKERS, len(firings)))) as pool:
            futures = {
                i: pool.submit(copy_context().run, self._one, n, firings[i], shared) for i in order
            }
            for i, future in futures.items():
                outcomes[i] = future.result()
        results = [r for _, r in sorted(outcomes.items()) if isinstance(r, dict)]
        transient = [e for _, e in sorted(outcomes.items()) if isinstance(e, TransientError)]
        if transient:
            first = transient[0]
            raise (
                first
                if len(transient) == 1
                else type(first)("; ".join(dict.fromkeys(map(str, transient))))
            )
        return results

    def _strength(self, actions: Iterable[str]) -> int:
        return max((self.registry[name].strength for name in actions), default=0)

    def _one(
        self, n: Notification, firing: Firing, shared: _Delivery
    ) -> dict[str, Any] | TransientError:
        """One firing, in its own thread: its result, or the TransientError to redeliver for."""
        down = shared.ledger_down
        if down is not None:
            # Found unreachable earlier in this delivery: do not wait for it once per firing
            # (each wait is a full ledger timeout) before the next brakes run.
            self._without_ledger(n, firing, self._log(n, firing), down)
            return down
        try:
            return self._run_firing(n, firing)
        except LedgerUnavailable as exc:
            if shared.found_down(exc) and isinstance(exc, LedgerMisconfigured):
                # Permanent: one ERROR per delivery naming the fix; the brakes ran without it.
                self.log.error(
                    f"ledger misconfigured: {exc.reason}",
                    message_id=n.message_id,
                    budget=n.budget_id,
                    remedy=exc.remedy,
                )
            return exc
        except LeaseLost as exc:
            return TransientError(str(exc))
        except TransientError as exc:
            return exc

    def _log(self, n: Notification, firing: Firing) -> Logger:
        return self.log.bind(
            budget=n.budget_id,
            project=firing.project,
            rule=firing.rule.name,
            message_id=n.message_id,
            crossing=firing.crossing.doc_id,
        )

    def _run_firing(self, n: Notification, firing: Firing) -> dict[str, Any]:
        log = self._log(n, firing)
        try:
            claim = self.ledger.claim(firing, n.message_id)
        except LedgerUnavailable as exc:
            self._without_ledger(n, firing, log, exc)
            raise
        except CrossingBusy as exc:
            log.info(f"busy, Pub/Sub will redeliver: {exc}")
            raise
        if claim is None:
            log.info("duplicate: this crossing was already handled", reason=firing.reason)
            return {"crossing": firing.crossing.doc_id, "duplicate": True}
        log.info(
            "crossing claimed" + (" (resuming)" if claim.resumed else ""),
            reason=firing.reason,
            actions=list(firing.rule.actions),
            dry_run=self.policy.dry_run,
            # For the crossing alert's labels (infra/alerts.tf): spend and plan as plain strings.
            cost=str(n.cost_amount),
            budget_amount=str(n.budget_amount),
            currency=n.currency_code,
            actions_planned=", ".join(firing.rule.actions),
        )
        transient: TransientError | None = None
        ledger_lost = False
        try:
            for index, name in enumerate(firing.rule.actions):
                if claim.settled(name):
                    continue
                with deadline.share(self._parts(firing.rule.actions, index)):
                    error = self._run_action(n, firing, claim, self.registry[name](), log)
                transient = transient or error
        except LedgerUnavailable as exc:
            # Lost mid-firing: the lease lapses after LEASE_SECONDS and a redelivery resumes from
            # the last record saved; the idempotent brakes run now rather than then.
            ledger_lost = True
            self._without_ledger(n, firing, log, exc)
            raise
        except LeaseLost as exc:
            # Another instance holds the crossing now: it resumes from the record; we stop here.
            ledger_lost = True
            log.warning(f"lease lost, acting no more on this crossing: {exc}")
            raise
        finally:
            if not ledger_lost:
                try:
                    self.ledger.release(claim)
                except LeaseLost as exc:
                    log.warning(f"lease lost, acting no more on this crossing: {exc}")
                    raise
        if transient is not None:
            raise transient
        return {"crossing": firing.crossing.doc_id, "actions": claim.record.get("actions", {})}

    def _run_action(
        self, n: Notification, firing: Firing, claim: Claim, action: Action, log: Logger
    ) -> TransientError | None:
        entry = claim.action(action.name)
        entry["attempts"] = int(entry.get("attempts", 0)) + 1
        log = log.bind(action=action.name)
        error: TransientError | None = None
        if deadline.expired():
            status, detail = "retrying", "not started: the invocation's deadline was reached"
            error = TransientError(f"{action.name} on {firing.project}: {detail}")
            log.error(f"guard failed to act, will retry on redelivery: {action.name}: {detail}")
        elif self.policy.dry_run:
            status, detail = "would_run", f"dry run: would {action.summary} on {firing.project}"
            log.warning(detail, outcome=status)
        elif firing.protected and action.mutates:
            status, detail = (
                "skipped",
                f"{firing.project} is a protected project: {action.name} not run",
            )
            log.warning(detail, outcome=status)
        else:
            progress = entry.setdefault("progress", {})
            ctx = Context(firing, n, self.policy, log, progress, lambda: self.ledger.save(claim))
            try:
                outcome = action.run(ctx)
                status, detail = outcome.status, outcome.detail
                log.info(f"{action.name}: {detail}", outcome=status)
            except ActionFailed as exc:
                status, detail = "failed", str(exc)
                log.error(
                    f"guard failed to act: {action.name}: {exc.reason}",
                    remedy=exc.remedy,
                    outcome=status,
                )
            except TransientError as exc:
                status, detail, error = "retrying", str(exc), exc
                log.error(
                    f"guard failed to act, will retry on redelivery: {action.name}: {exc}",
                    outcome=status,
                )
            except LeaseLost:  # a checkpoint found another holder: stop now, record nothing
                raise
            except Exception as exc:  # a bug must not silence the next brake
                status, detail = "failed", f"unexpected {type(exc).__name__}: {exc}"
                log.error(f"guard failed to act: {action.name}: {detail}", outcome=status)
        entry.update(status=status, detail=detail)
        self.ledger.note(claim, f"{action.name}: {status}", message_id=n.message_id, detail=detail)
        self.ledger.save(claim)
        return error

    def _parts(self, actions: tuple[str, ...] | list[str], index: int) -> int:
        """1 + the stronger brakes after ``actions[index]``: it may use that share of the time."""
        strength = self.registry[actions[index]].strength
        after = actions[index + 1 :]
        return 1 + sum(1 for name in after if self.registry[name].strength > strength)

    def _without_ledger(self, n: Notification, firing: Firing, log: Logger, exc: Exception) -> None:
        """Ledger down: run only the idempotent brakes, so a leak is not left burning money, and
        none on a project whose restore this period is on record (``functions.restored``)."""
        if self.policy.dry_run or firing.protected:
            log.error(f"ledger unavailable, nothing run; will retry on redelivery: {exc}")
            return
        if any(
            self.registry[a].idempotent and self.registry[a].mutates for a in firing.rule.actions
        ):
            try:
                restored = self.restored(firing.project, firing.crossing.period)
            except Exception as failure:  # credentials, network...: unknown either way
                # Unknown: a restore must never be undone, so no brake without the ledger. Pub/Sub
                # redelivers, and the next delivery reads the ledger or the marker again.
                log.error(
                    "ledger unavailable and the restore marker unreadable: nothing run (a restore "
                    f"must never be undone); will retry on redelivery: {exc}; marker: {failure}"
                )
                return
            if restored:
                log.warning(
                    "ledger unavailable, and an operator restored this project this period: no "
                    f"brake without the ledger; will retry on redelivery: {exc}"
                )
                return
        ran, waiting = [], []
        for index, name in enumerate(firing.rule.actions):
            action = self.registry[name]()
            if not (action.idempotent and action.mutates):
                waiting.append(name)
                continue
            ctx = Context(firing, n, self.policy, log.bind(action=name))
            try:
                with deadline.share(self._parts(firing.rule.actions, index)):
                    outcome = action.run(ctx)
                ran.append(f"{name}: {outcome.status} ({outcome.detail})")
            except (ActionFailed, TransientError) as failure:
                ran.append(f"{name}: failed ({failure})")
        log.error(
            "ledger unavailable: ran idempotent actions without a claim; "
            f"will retry on redelivery: {exc}",
            ran=ran,
            waiting=waiting,
        )
