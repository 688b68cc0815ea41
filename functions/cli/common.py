"""What every command shares: the common options, loading the policy, usage errors, periods.

No Google client is imported here: ``plan`` and ``--help`` run without any.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from functions.errors import GuardError, LedgerUnavailable, PolicyError
from functions.ledger import Ledger
from functions.ledger.base import SETTLED
from functions.policy import ENV_POLICY, ENV_POLICY_FILE, Policy, load_policy

__all__ = [
    "UsageError",
    "add_common",
    "amount",
    "current_period",
    "doc_id",
    "latest_period",
    "load",
    "open_ledger",
    "pending_actions",
    "period",
    "ratio",
]

# Cloud Billing starts a monthly budget period at midnight in the billing account's time zone
# (Pacific for most accounts): costIntervalStart is then 07:00Z or 08:00Z on the 1st.
BILLING_TIME_ZONE = "America/Los_Angeles"


class UsageError(GuardError):
    """The command line or its inputs are wrong: exit code 2, with this message."""


def add_common(parser: argparse.ArgumentParser, *, policy_help: str | None = None) -> None:
    """Add ``--policy`` and ``--json`` to a command's parser."""
    parser.add_argument(
        "--policy",
        metavar="FILE",
        help=policy_help
        or f"the policy JSON file (default: ${ENV_POLICY} as JSON text, "
        f"else the file named by ${ENV_POLICY_FILE})",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document instead of text"
    )


def load(
    path: str | None, environ: Mapping[str, str] | None = None, *, required: bool = True
) -> Policy | None:
    """The policy from ``--policy FILE`` or the function's environment variables.

    Raises PolicyError (exit 2) when it is invalid or, if ``required``, absent.
    """
    import os

    env = os.environ if environ is None else environ
    if path is not None:
        return load_policy({ENV_POLICY_FILE: path})
    if not required and env.get(ENV_POLICY) is None and not env.get(ENV_POLICY_FILE):
        return None
    try:
        return load_policy(env)
    except PolicyError as exc:
        if exc.path == "" and exc.reason.startswith("no policy"):
            raise PolicyError(
                "", f"no policy: pass --policy FILE, or set {ENV_POLICY} or {ENV_POLICY_FILE}"
            ) from None
        raise


def amount(text: str) -> Decimal:
    """argparse type: a non-negative decimal amount."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def ratio(text: str) -> Decimal:
    """argparse type: a fraction of the budget (1.0 = 100 %)."""
    value = amount(text)
    if value > 1000:
        raise argparse.ArgumentTypeError(f"a ratio of the budget (1.0 = 100 %%), got {text!r}")
    return value


def period(text: str) -> str:
    """argparse type: an RFC 3339 timestamp, returned as Cloud Billing writes costIntervalStart."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)", text):
        raise argparse.ArgumentTypeError(
            f"must be an RFC 3339 timestamp like 2026-11-01T07:00:00Z, got {text!r}"
        )
    try:
        moment = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a valid timestamp: {exc}") from None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def current_period(now: datetime | None = None) -> str:
    """This month's period start as Cloud Billing sends it (Pacific midnight, in UTC)."""
    now = now or datetime.now(UTC)
    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(BILLING_TIME_ZONE)
    except Exception:  # no tz database on this machine: midnight UTC is close enough for a test
        zone = UTC  # type: ignore[assignment]
    local = now.astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the ledger, as status and restore read it ---------------------------------------------------


def open_ledger(policy: Policy) -> Ledger:
    """The policy's Firestore ledger (honours FIRESTORE_EMULATOR_HOST); LedgerUnavailable if not."""
    try:
        from functions.ledger.firestore import FirestoreLedger

        return FirestoreLedger(policy.ledger)
    except Exception as exc:  # no credentials, bad project...: the ledger cannot be opened
        raise LedgerUnavailable(
            f"cannot open the ledger (Firestore database {policy.ledger.database} in "
            f"{policy.ledger.project}): {type(exc).__name__}: {exc}"
        ) from exc


def doc_id(record: dict[str, Any]) -> str:
    """The ledger document id of a crossing record."""
    return str(record["crossing"])


def pending_actions(record: dict[str, Any]) -> list[str]:
    """The record's actions that are not settled (pending, failed, retrying)."""
    return [
        name
        for name, entry in (record.get("actions") or {}).items()
        if entry.get("status") not in SETTLED
    ]


def latest_period(records: list[dict[str, Any]]) -> str | None:
    """The latest period among ``records`` (periods are canonical UTC timestamps: they sort)."""
    return max((r["period"] for r in records if r.get("period")), default=None)
