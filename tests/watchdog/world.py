"""The watchdog's integration world: the stand-in's Monitoring (gRPC, through the real client),
the Firestore emulator (buckets, state, ledger) and the real executor and actions.

``World.burn`` scripts usage the way Gemini writes it (output tokens per project, model and
minute); ``World.tick`` moves the stand-in's clock to the tick's publish time and runs one tick.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.executor import Executor
from functions.handler import Guard
from functions.ledger.firestore import FirestoreLedger
from functions.log import Logger
from functions.policy import Policy, parse_policy
from functions.watchdog.tick import Watchdog
from local import services
from standin import StandIn
from tests.sample import ACCOUNT, BUDGET

__all__ = ["HOST", "OUT", "PRO", "T0", "World", "policy_doc"]

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
HOST = "guard-host"
GL = "generativelanguage.googleapis.com"
OUT = f"{GL}/generate_content_usage_output_token_count"
REQUESTS = "serviceruntime.googleapis.com/api/request_count"
PRO = "gemini-2.5-pro"  # $10 per 1M output tokens: 100,000 tokens a dollar
TOKENS_PER_DOLLAR = 100_000


def policy_doc(rules: list[dict[str, Any]], database: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "billing_account": ACCOUNT,
        "budgets": {
            BUDGET: {"projects": ["gemini-prod", "shared-infra"], "currency": "USD", "amount": 1000}
        },
        "rules": rules,
        "protected_projects": ["shared-infra"],
        "dry_run": False,
        "ledger": {"project": services.DEFAULT_PROJECT, "database": database},
        "watchdog": {"scope_project": HOST},
    }
    doc.update(changes)
    return doc


class World:
    """One policy's watchdog and guard over the stand-in and the emulator."""

    def __init__(self, standin: StandIn, doc: dict[str, Any]) -> None:
        self.standin = standin
        self.doc = json.loads(json.dumps(doc))
        self.policy: Policy = parse_policy(self.doc)
        self.out = io.StringIO()
        self.log = Logger({"component": "test"}, stream=self.out)
        self.ledger = FirestoreLedger(self.policy.ledger)
        self.executor = Executor(self.policy, lambda: self.ledger, self.log)
        self.watchdog = Watchdog(self.policy, self.executor, log=self.log)
        self.guard = Guard(self.policy, lambda: self.ledger, self.log)
        standin.set_scope(HOST, [p for b in self.policy.budgets.values() for p in b.projects])

    def burn(
        self,
        start: datetime,
        minutes: int,
        dollars_per_minute: float,
        model: str = PRO,
        project: str = "gemini-prod",
        key: str | None = None,
    ) -> None:
        """Script ``dollars_per_minute`` of output tokens (priced as gemini-2.5-pro's)."""
        tokens = int(dollars_per_minute * TOKENS_PER_DOLLAR)
        points = []
        for i in range(minutes):
            minute = (start + timedelta(minutes=i)).isoformat()
            points.append(
                {
                    "metric": OUT,
                    "project": project,
                    "labels": {"model": model},
                    "minute": minute,
                    "value": tokens,
                }
            )
            if key is not None:
                points.append(
                    {
                        "metric": REQUESTS,
                        "project": project,
                        "labels": {"credential_id": f"apikey:{key}"},
                        "minute": minute,
                        "value": 60,
                    }
                )
        self.standin.add_points(points)

    def tick(self, now: datetime) -> dict[str, Any]:
        self.standin.set_clock(now)
        return self.watchdog.tick(now)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]

    def crossed(self) -> list[dict[str, Any]]:
        return [r for r in self.lines() if r["message"].startswith("budget threshold crossed")]

    def records(self) -> list[dict[str, Any]]:
        return self.ledger.records()

    def estimate(self, report: dict[str, Any], project: str = "gemini-prod") -> Decimal:
        value: Decimal = report["estimates"][BUDGET][project]
        return value

    def live_keys(self, project: str = "gemini-prod") -> list[str]:
        keys = self.standin.state["projects"][project]["keys"]
        return [k["uid"] for k in keys if not k.get("deleteTime")]
