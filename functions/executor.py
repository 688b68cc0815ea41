"""The executor: runs each firing's actions through the ledger. Dry run and protection live here.

For every firing: claim its crossing (a duplicate stops here), then run each action that is not
settled yet, in the rule's order, recording each outcome in the ledger as it happens:

    dry run                -> "would_run"  (nothing runs; the record says exactly what would)
    protected project      -> "skipped"    for actions that touch the project
    Outcome                -> "done" / "noop"
    ActionFailed           -> "failed"     ERROR log with the remedy; the next delivery retries it
    TransientError         -> "retrying"   ERROR log; raised at the end so Pub/Sub redelivers

One action's failure never stops the next brake. When the ledger itself is unreachable, only the
actions declared idempotent run (they read state first, so repeating them is safe); the others
wait, and the error is raised so that Pub/Sub redelivers (docs/RELIABILITY.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from functions.actions import REGISTRY, Action, Context
from functions.decision import Firing
from functions.errors import ActionFailed, CrossingBusy, LedgerUnavailable, TransientError
from functions.ledger import Claim, Ledger
from functions.log import Logger
from functions.notification import Notification
from functions.policy import Policy

__all__ = ["Executor"]


class Executor:
    """Runs firings; ``ledger`` is built on first use so a quiet notification never builds it."""

    def __init__(
        self,
        policy: Policy,
        ledger: Callable[[], Ledger],
        log: Logger,
        registry: Mapping[str, type[Action]] = REGISTRY,
    ) -> None:
        self.policy = policy
        self._ledger_factory = ledger
        self._ledger: Ledger | None = None
        self.log = log
        self.registry = registry

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = self._ledger_factory()
        return self._ledger

    def run(self, n: Notification, firings: list[Firing]) -> list[dict[str, Any]]:
        """Run every firing; raise TransientError at the end if any needs a redelivery."""
        results: list[dict[str, Any]] = []
        transient: list[TransientError] = []
        ledger_down: LedgerUnavailable | None = None
        for firing in firings:
            if ledger_down is not None:
                # Found unreachable earlier in this delivery: do not wait for it once per firing
                # (each wait is a full ledger timeout) before the next brakes run.
                self._without_ledger(n, firing, self._log(n, firing), ledger_down)
                continue
            try:
                results.append(self._run_firing(n, firing))
            except LedgerUnavailable as exc:
                ledger_down = exc
                transient.append(exc)
            except TransientError as exc:
                transient.append(exc)
        if transient:
            first = transient[0]
            raise (
                first
                if len(transient) == 1
                else type(first)("; ".join(dict.fromkeys(map(str, transient))))
            )
        return results

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
            for name in firing.rule.actions:
                if claim.settled(name):
                    continue
                error = self._run_action(n, firing, claim, self.registry[name](), log)
                transient = transient or error
        except LedgerUnavailable as exc:
            # Lost mid-firing: the lease lapses after LEASE_SECONDS and a redelivery resumes from
            # the last record saved; the idempotent brakes run now rather than then.
            ledger_lost = True
            self._without_ledger(n, firing, log, exc)
            raise
        finally:
            if not ledger_lost:
                self.ledger.release(claim)
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
        if self.policy.dry_run:
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
            except Exception as exc:  # a bug must not silence the next brake
                status, detail = "failed", f"unexpected {type(exc).__name__}: {exc}"
                log.error(f"guard failed to act: {action.name}: {detail}", outcome=status)
        entry.update(status=status, detail=detail)
        self.ledger.note(claim, f"{action.name}: {status}", message_id=n.message_id, detail=detail)
        self.ledger.save(claim)
        return error

    def _without_ledger(self, n: Notification, firing: Firing, log: Logger, exc: Exception) -> None:
        """Ledger down: run only the idempotent brakes, so a leak is not left burning money."""
        if self.policy.dry_run or firing.protected:
            log.error(f"ledger unavailable, nothing run; will retry on redelivery: {exc}")
            return
        ran, waiting = [], []
        for name in firing.rule.actions:
            action = self.registry[name]()
            if not (action.idempotent and action.mutates):
                waiting.append(name)
                continue
            ctx = Context(firing, n, self.policy, log.bind(action=name))
            try:
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
