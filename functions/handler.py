"""One CloudEvent in: verify, decide, act. The function's whole life is here.

Rejected messages (malformed or spoofed) are logged once with their reason and acknowledged: a
5xx would make Pub/Sub redeliver them forever. Transient failures are raised so that it does. A
malformed one that is a known foreign notification (functions/foreign.py) is logged at INFO.
Reading and deciding are pure, so an unexpected exception there (a bug: it would fail the same
way on every redelivery) is one ERROR line with its type and reason, and acknowledged too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.decision import decide
from functions.errors import MalformedMessage, RejectedMessage, TransientError
from functions.foreign import recognize
from functions.ledger import Ledger
from functions.log import Logger, logger
from functions.notification import Notification, from_cloud_event, parse
from functions.policy import Policy, load_policy

__all__ = ["Guard"]


def _firestore_ledger(policy: Policy) -> Callable[[], Ledger]:
    def build() -> Ledger:
        from functions.ledger.firestore import FirestoreLedger

        return FirestoreLedger(policy.ledger)

    return build


class Guard:
    """The guard for one policy; one per process, built at start-up."""

    def __init__(
        self, policy: Policy, ledger: Callable[[], Ledger] | None = None, log: Logger = logger
    ) -> None:
        from functions.executor import Executor

        self.policy = policy
        self.log = log
        self.executor = Executor(policy, ledger or _firestore_ledger(policy), log)

    @classmethod
    def from_env(cls) -> Guard:
        """Load and validate the policy from the environment; raise PolicyError if it is bad."""
        return cls(load_policy())

    def handle(self, cloud_event: Any) -> list[dict[str, Any]]:
        """Handle one CloudEvent; return what was done (for tests and the CLI)."""
        message_id = _message_id(cloud_event)
        try:
            notification = parse(
                from_cloud_event(cloud_event, self.policy.source_topic),
                self.policy.billing_account,
                self.policy.budgets,
            )
            firings = decide(notification, self.policy)
        except RejectedMessage as exc:
            foreign = recognize(cloud_event) if isinstance(exc, MalformedMessage) else None
            if foreign is not None:
                # Another producer on a shared topic: not an attack, never acted on.
                self.log.info(
                    f"not a budget notification: {foreign.kind}",
                    message_id=message_id,
                    foreign=foreign.kind,
                    **{f"foreign_{k}": v for k, v in foreign.fields.items()},
                )
                return []
            self.log.warning(
                f"{exc.kind} message ignored: {exc.reason}",
                message_id=message_id,
                rejected=exc.kind,
                reason=exc.reason,
            )
            return []
        except TransientError:
            raise
        except Exception as exc:  # a bug in reading or deciding: redelivery would repeat it
            why = f"{type(exc).__name__}: {exc}"[:500]
            self.log.error(
                f"guard could not read or decide on the message, acknowledged: {why}",
                message_id=message_id,
                rejected="error",
                reason=why,
            )
            return []
        if self.policy.watchdog is not None:
            self._reconcile(notification)
        if not firings:
            self.log.info(
                "under every threshold",
                message_id=notification.message_id,
                budget=notification.budget_id,
                cost=str(notification.cost_amount),
                budget_amount=str(notification.budget_amount),
                period=notification.period,
            )
            return []
        results = self.executor.run(notification, firings)
        self.log.info(
            "notification handled",
            message_id=notification.message_id,
            budget=notification.budget_id,
            crossings=len(results),
            duplicates=sum(1 for r in results if r.get("duplicate")),
        )
        return results

    def _reconcile(self, notification: Notification) -> None:
        """Compare the usage watchdog's estimate with the bill (functions/watchdog/reconcile.py)."""
        from functions.watchdog.reconcile import reconcile
        from functions.watchdog.state import FirestoreWatchdogStore

        reconcile(
            notification, self.policy, lambda: FirestoreWatchdogStore(self.policy.ledger), self.log
        )


def _message_id(event: Any) -> str | None:
    try:
        message_id = event.data["message"]["messageId"]
    except Exception:  # whatever the envelope is, the message is still answered and logged
        return None
    return message_id[:128] if isinstance(message_id, str) else None
