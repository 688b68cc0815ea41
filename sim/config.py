"""The configuration format (sim/configs/*.json): a policy plus one-time preventive settings.

``rules`` and the other policy fields are the guard's own policy (README "The policy"); the
runner adds what belongs to the scenario (billing account, the budget and its project, the
ledger). ``tick_minutes``: how often the usage watchdog's scheduler publishes a tick (``null``:
no watchdog). ``abuse_events``: whether the project's abuse-event log is routed to the guard's
``leaked_key`` entry point. ``preventive``: settings made once, before the leak (a model lock).
``requires``: the layers the configuration needs; a layer that has not landed on this branch
leaves the configuration out of the table, with a line saying so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sim.scenario import Scenario
from sim.world import ACCOUNT, BUDGET_ID

__all__ = ["Config", "ConfigError", "load_config", "policy_doc"]


class ConfigError(ValueError):
    """A configuration file that does not follow the format."""


@dataclass(frozen=True)
class Config:
    name: str
    title: str
    policy: dict[str, Any]
    tick_minutes: int | None = None
    abuse_events: bool = False
    requires: tuple[str, ...] = ()
    preventive: dict[str, Any] = field(default_factory=dict)

    def with_tick(self, minutes: int) -> Config:
        return Config(
            f"{self.name}@{minutes}m",
            self.title,
            self.policy,
            minutes,
            self.abuse_events,
            self.requires,
            self.preventive,
        )


def parse_config(doc: Any) -> Config:
    if not isinstance(doc, dict):
        raise ConfigError("config: expected an object")
    for name in ("name", "title"):
        if not isinstance(doc.get(name), str):
            raise ConfigError(f"{name}: a string is required")
    policy = doc.get("policy")
    if not isinstance(policy, dict) or not isinstance(policy.get("rules"), list):
        raise ConfigError("policy.rules: a list of rules is required")
    tick = doc.get("tick_minutes")
    if tick is not None and (not isinstance(tick, int) or tick < 1):
        raise ConfigError("tick_minutes: a positive integer or null")
    return Config(
        name=doc["name"],
        title=doc["title"],
        policy=policy,
        tick_minutes=tick,
        abuse_events=bool(doc.get("abuse_events", False)),
        requires=tuple(doc.get("requires") or ()),
        preventive=dict(doc.get("preventive") or {}),
    )


def load_config(path: str | Path) -> Config:
    with open(path, encoding="utf-8") as fh:
        return parse_config(json.load(fh))


def _of_budget(rule: dict[str, Any], amount: Decimal) -> dict[str, Any]:
    """``"amount": "20% of budget"`` -> that share of the scenario's budget amount."""
    value = rule.get("amount")
    if isinstance(value, str) and value.endswith("% of budget"):
        share = Decimal(value.removesuffix("% of budget").strip()) / 100
        return {"amount": float((amount * share).quantize(Decimal("0.01")))}
    return {}


def policy_doc(config: Config, scenario: Scenario, ledger_project: str) -> dict[str, Any]:
    """The guard's policy document for ``config`` guarding ``scenario``'s project."""
    doc: dict[str, Any] = json.loads(json.dumps(config.policy))
    amount = Decimal(str(scenario.budget["amount"]))
    for rule in doc["rules"]:
        rule.update(_of_budget(rule, amount))
    if "watchdog" in doc and config.tick_minutes:
        doc["watchdog"] = {"interval_minutes": config.tick_minutes, **doc["watchdog"]}
    budget = {
        "projects": [scenario.project],
        "currency": scenario.currency,
        "amount": float(amount),
    }
    doc.update(
        billing_account=ACCOUNT,
        budgets={BUDGET_ID: budget},
        ledger={"project": ledger_project, "database": "(default)"},
        protected_projects=[],
        dry_run=False,
    )
    return doc
