"""A scenario's world: the stand-in seed (one project, its keys, services, billing) and quotas.

Key strings and uids are derived from the scenario and key names (never random), so two runs
of a scenario see the same world.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sim.scenario import Scenario
from standin.gemini import SERVICE
from standin.gemini_quota import PAID_DEFAULTS, PAID_LIMITS

__all__ = [
    "ACCOUNT",
    "BUDGET_ID",
    "PROJECT_NUMBER",
    "key_string",
    "key_uid",
    "quotas",
    "seed",
]

ACCOUNT = "01D4EE-079462-DFD6EC"
BUDGET_ID = "de72f49d-779b-4945-a127-4d6ce8def0bb"
PROJECT_NUMBER = "123456789012"


def key_string(scenario: Scenario, name: str) -> str:
    digest = hashlib.sha256(f"{scenario.name}/{name}".encode()).hexdigest()
    return "AIzaSySIM-" + digest[:29]


def key_uid(scenario: Scenario, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sim:{scenario.name}/{name}"))


def _key(scenario: Scenario, name: str, doc: dict[str, Any]) -> dict[str, Any]:
    uid = key_uid(scenario, name)
    return {
        "uid": uid,
        "keyId": f"k-{uid[:8]}",
        "displayName": str(doc.get("displayName", name)),
        "keyString": key_string(scenario, name),
        "restrictions": dict(doc.get("restrictions") or {}),
        "annotations": dict(doc.get("annotations") or {}),
        "createTime": str(doc.get("createTime", "2025-08-19T10:00:00Z")),
        "etag": f'W/"{uid[:12]}"',
    }


def quotas(scenario: Scenario) -> dict[str, Any]:
    """The project's paid-tier Gemini quotas as Cloud Quotas infos (scenario values over the
    stand-in's Tier-1 defaults; ``"*"`` is every other model)."""
    infos = {}
    for limit in PAID_LIMITS:
        values = dict(scenario.quotas.get(limit.quota_id, {}))
        default = values.pop("*", PAID_DEFAULTS[limit.quota_id])
        infos[limit.quota_id] = {
            "service": SERVICE,
            "metric": limit.metric,
            "unit": "1/min/{project}/{model}",
            "refresh": "minute",
            "values": values,
            "default": default,
        }
    return {"increases": "pending", "infos": infos}


def seed(scenario: Scenario) -> dict[str, Any]:
    """The stand-in world for ``scenario``."""
    keys = [_key(scenario, name, doc) for name, doc in scenario.keys.items()]
    return {
        "quotas": {scenario.project: quotas(scenario)},
        "projects": {
            scenario.project: {
                "number": PROJECT_NUMBER,
                "billing_account": f"billingAccounts/{ACCOUNT}",
                "services": {SERVICE: "ENABLED"},
                "keys": keys,
            }
        },
    }
