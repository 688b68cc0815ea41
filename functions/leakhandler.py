"""The ``leaked_key`` entry point's logic: a LEAKED_CREDENTIALS abuse event revokes that key, once.

One CloudEvent (a Pub/Sub message from the abuse-event log sink's topic) in:
  1. verify the log entry (``functions.leakevent``): a guarded project, the abuse-event log, the
     AbuseEvent payload, ``LEAKED_CREDENTIALS``, a named key;
  2. find the key in that project: by uid, key id or resource name, or, when the event gives a
     key string, by comparing it with each key's string (constant-time). No such key: spoofed;
  3. run the firing ``leaked-key`` (``notify``, ``revoke_leaked_key``) through the executor, so
     the ledger claims it once per (project, key), protection and dry run apply as for every
     brake, and the audit record says which key, why, and which message.
Rejected events (malformed, spoofed, unknown key) are logged at WARNING with the reason and
acknowledged; transient failures are raised so Pub/Sub redelivers, and so is a permanent failure
to look the key up (an ERROR with the remedy): a leak report is never dropped for a missing
permission, Pub/Sub retries it until the dead-letter policy takes it. The event's key value is
never logged: only its fingerprint and, once found, the key's resource name.

The executor takes a budget ``Notification``; the event becomes one with ``budget_id``
``abuse-events``, no amounts, and the event's time as the period start (``_notification``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from functions.actions import keys_api
from functions.decision import Crossing, Firing
from functions.errors import ActionFailed, RejectedMessage
from functions.leakevent import LeakEvent, looks_like_key_string, parse_message
from functions.log import Logger
from functions.notification import Notification
from functions.policy import Policy, Rule

__all__ = ["LEAK_ACTIONS", "LEAK_RULE", "LEAK_SOURCE", "LeakGuard", "is_leak_record"]

LEAK_SOURCE = "abuse-events"  # the crossing's budget_id
LEAK_RULE = "leaked-key"
LEAK_ACTIONS = ("notify", "revoke_leaked_key")


def is_leak_record(record: dict[str, Any]) -> bool:
    """True for a ledger record this handler wrote (``restore`` keeps its key deleted)."""
    return record.get("budget_id") == LEAK_SOURCE and record.get("rule") == LEAK_RULE


def _matches(project: str, key: keys_api.Key, ref: str) -> bool:
    if looks_like_key_string(ref):
        try:
            value = keys_api.key_string(project, key["name"])
        except Exception:  # a key whose string cannot be read is not this one
            return False
        return hmac.compare_digest(value.encode(), ref.encode())
    name = str(key.get("name", ""))
    return ref in (key.get("uid"), name, name.rsplit("/", 1)[-1]) or name.endswith("/" + ref)


def find_key(event: LeakEvent) -> keys_api.Key | None:
    """The key of ``event.project`` the event names (deleted ones included), or None."""
    for key in keys_api.list_keys(event.project, show_deleted=True):
        if _matches(event.project, key, event.api_key):
            return key
    return None


def _notification(event: LeakEvent, message_id: str, policy: Policy) -> Notification:
    try:
        when = datetime.fromisoformat(event.timestamp.replace("Z", "+00:00"))
    except ValueError:
        when = datetime.now(UTC)
    return Notification(
        message_id=message_id,
        billing_account_id=policy.billing_account,
        budget_id=LEAK_SOURCE,
        schema_version="",
        budget_display_name="LEAKED_CREDENTIALS abuse event",
        cost_amount=Decimal(0),
        cost_interval_start=when if when.tzinfo else when.replace(tzinfo=UTC),
        budget_amount=Decimal(1),
        budget_amount_type="",
        currency_code="",
    )


def firing(event: LeakEvent, key: keys_api.Key, policy: Policy) -> Firing:
    """The firing for a leaked key: claimed once per (project, key uid)."""
    rule = Rule(LEAK_RULE, Decimal(0), "abuse_event", LEAK_ACTIONS)
    crossing = Crossing(
        LEAK_SOURCE, "", "0", LEAK_RULE, event.project, policy.dry_run, subject=f"key:{key['uid']}"
    )
    where = f", found at {event.detected_uri}" if event.detected_uri else ""
    reason = (
        f"Google reported API key {key['name']} leaked (abuse event LEAKED_CREDENTIALS, "
        f"action {event.action or 'unspecified'}{where})"
    )
    return Firing(
        rule,
        event.project,
        crossing,
        reason,
        policy.is_protected(event.project),
        source="abuse_event",
        targets=(key["name"],),
    )


class LeakGuard:
    """The leaked-key handler for one policy; shares the budget guard's executor."""

    def __init__(self, policy: Policy, executor_for: Callable[[], Any], log: Logger) -> None:
        self.policy = policy
        self._executor_for = executor_for
        self.log = log

    @property
    def guarded(self) -> frozenset[str]:
        return frozenset(p for b in self.policy.budgets.values() for p in b.projects)

    def handle(self, cloud_event: Any) -> list[dict[str, Any]]:
        message = _message(cloud_event)
        message_id = str(message.get("messageId") or "")[:128]
        try:
            event = parse_message(message, self.guarded)
        except RejectedMessage as exc:
            self._reject(exc.kind, exc.reason, message_id)
            return []
        try:
            key = find_key(event)
        except ActionFailed as exc:  # e.g. no apikeys.keys.list: retried until fixed (dead letter)
            self.log.error(
                f"guard failed to look up the leaked key: {exc.reason}",
                message_id=message_id,
                project=event.project,
                remedy=exc.remedy,
            )
            raise
        if key is None:
            self._reject(
                "spoofed",
                f"no API key in {event.project} matches the event's key ({event.fingerprint})",
                message_id,
            )
            return []
        self.log.warning(
            f"leaked API key reported: {key['name']}",
            message_id=message_id,
            project=event.project,
            key=key["name"],
            insert_id=event.insert_id,
        )
        n = _notification(event, message_id, self.policy)
        results: list[dict[str, Any]] = self._executor_for().run(
            n, [firing(event, key, self.policy)]
        )
        self.log.info(
            "abuse event handled",
            message_id=message_id,
            key=key["name"],
            duplicates=sum(1 for r in results if r.get("duplicate")),
        )
        return results

    def _reject(self, kind: str, reason: str, message_id: str) -> None:
        self.log.warning(
            f"{kind} abuse event ignored: {reason}",
            message_id=message_id,
            rejected=kind,
            reason=reason,
        )


def _message(event: Any) -> dict[str, Any]:
    try:
        message = event.data["message"]
    except (AttributeError, KeyError, TypeError):
        return {}
    return message if isinstance(message, dict) else {}
