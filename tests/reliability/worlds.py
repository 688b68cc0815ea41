"""The worlds (stand-in seeds) and policies of the reliability suite; the method ids it counts."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from functions.actions.keys_api import CROSSING, REPLACES
from functions.alerts import Alert
from standin.seedfile import load_seed
from tests.reliability.harness import PROJECT
from tests.sample import ACCOUNT, BUDGET

__all__ = [
    "ACCOUNT",
    "BILLING_GET",
    "BILLING_PUT",
    "BUDGET",
    "BUDGET_2",
    "BUDGET_3",
    "CROSSING",
    "GEMINI",
    "KEYS_CREATE",
    "KEYS_DELETE",
    "KEYS_GET",
    "KEYS_LIST",
    "KEYS_POLL",
    "KEYS_STRING",
    "MUTATING",
    "PER_PROJECT_SECRET",
    "REPLACES",
    "SECRET",
    "SECRET_ADD",
    "SERVICE_DISABLE",
    "SERVICE_GET",
    "SERVICE_POLL",
    "alert",
    "many_projects_seed",
    "policy",
    "replacements",
    "secret_payloads",
    "storm_seed",
    "unique",
]

BUDGET_2 = "0c5e8f3a-2b7d-4e19-9a4c-6d1f0e2b8a73"
BUDGET_3 = "7a1d9c4e-5f62-4b8a-8e3d-2c9b0f6a1d57"
SECRET = "projects/guard-host/secrets/gemini-api-key"
# One secret per guarded project (keys.secret with {project}): what several projects need.
PER_PROJECT_SECRET = "projects/guard-host/secrets/gemini-api-key-{project}"
GEMINI = "generativelanguage.googleapis.com"

BILLING_GET = "cloudbilling.projects.getBillingInfo"
BILLING_PUT = "cloudbilling.projects.updateBillingInfo"
KEYS_LIST = "apikeys.projects.locations.keys.list"
KEYS_CREATE = "apikeys.projects.locations.keys.create"
KEYS_POLL = "apikeys.operations.get"
KEYS_GET = "apikeys.projects.locations.keys.get"
KEYS_STRING = "apikeys.projects.locations.keys.getKeyString"
KEYS_DELETE = "apikeys.projects.locations.keys.delete"
SECRET_ADD = "secretmanager.projects.secrets.addVersion"
SERVICE_GET = "serviceusage.services.get"
SERVICE_DISABLE = "serviceusage.services.disable"
SERVICE_POLL = "serviceusage.operations.get"
# Calls that change the world: everything else only reads.
MUTATING = (BILLING_PUT, KEYS_CREATE, KEYS_DELETE, SECRET_ADD, SERVICE_DISABLE)

ALL_ACTIONS = ["notify", "rotate_keys", "disable_service", "disable_billing"]


def unique(prefix: str) -> str:
    """A Firestore database id / topic name unique to this run."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def alert(
    cost: float,
    budget: float = 1000,
    *,
    budget_id: str = BUDGET,
    period: str = "2026-11-01T07:00:00Z",
    **kw: Any,
) -> Alert:
    return Alert(ACCOUNT, budget_id, cost, budget, period_start=period, **kw)


def policy(
    database: str,
    *,
    rules: list[dict[str, Any]] | None = None,
    budgets: dict[str, Any] | None = None,
    events_topic: str | None = None,
    secret: str | None = SECRET,
    **more: Any,
) -> dict[str, Any]:
    """A policy document whose ledger is ``database`` on the emulator project."""
    doc: dict[str, Any] = {
        "billing_account": ACCOUNT,
        "budgets": budgets or {BUDGET: {"projects": ["gemini-prod"], "currency": "USD"}},
        "rules": rules
        or [{"name": "brake", "threshold": 1.0, "basis": "actual", "actions": ALL_ACTIONS}],
        "ledger": {"project": PROJECT, "database": database},
        "keys": {"match": "gemini", **({"secret": secret} if secret else {})},
        **more,
    }
    if events_topic:
        doc["events_topic"] = events_topic
    return doc


def _key(uid: str, name: str, string: str, **extra: Any) -> dict[str, Any]:
    return {
        "uid": uid,
        "displayName": name,
        "keyString": string,
        "restrictions": {"apiTargets": [{"service": GEMINI}]},
        **extra,
    }


def storm_seed() -> dict[str, Any]:
    """The demo world plus two more guarded projects with Gemini keys (five projects in all)."""
    seed = load_seed(None)
    extra = {
        "gemini-batch": (
            "900000000001",
            [
                _key(
                    "9d2e4f6a-8b1c-4d3e-a5f7-0c2b4d6e8f10",
                    "batch jobs",
                    "AIzaSyFAKE-standin-batch-jobs-key-00001",
                ),
                _key(
                    "1a3c5e7f-9b2d-4f6a-8c0e-2d4f6a8c0e12",
                    "batch nightly",
                    "AQ.Ab8RN6FAKE-standin-batch-nightly-auth-key-00000001",
                    serviceAccountEmail="batch@gemini-batch.iam.gserviceaccount.com",
                ),
            ],
        ),
        "gemini-eval": (
            "900000000002",
            [
                _key(
                    "2b4d6f8a-0c1e-4a3b-9d5f-7e9a1c3e5b14",
                    "eval harness",
                    "AIzaSyFAKE-standin-eval-harness-key-0001",
                )
            ],
        ),
    }
    for project, (number, keys) in extra.items():
        seed["projects"][project] = {
            "number": number,
            "billing_account": f"billingAccounts/{ACCOUNT}",
            "billing_locked": False,
            "services": {GEMINI: "ENABLED"},
            "disable_blocked": {},
            "keys": keys,
            "granted_permissions": None,
        }
        seed["secrets"][PER_PROJECT_SECRET.format(project=project)] = {"versions": []}
    return seed


def demo_seed() -> dict[str, Any]:
    return copy.deepcopy(load_seed(None))


def replacements(state: dict[str, Any], project: str | None = None) -> dict[str, list[str]]:
    """Old key name -> the replacement keys that name it (annotation budget-guard/replaces)."""
    out: dict[str, list[str]] = {}
    for pid, proj in state["projects"].items():
        if project is not None and pid != project:
            continue
        for key in proj["keys"]:
            old = (key.get("annotations") or {}).get(REPLACES)
            if old:
                out.setdefault(old, []).append(key["keyId"])
    return out


def secret_payloads(state: dict[str, Any], secret: str = SECRET) -> list[dict[str, Any]]:
    import base64

    return [
        json.loads(base64.b64decode(v["data"]))
        for v in state["secrets"].get(secret, {}).get("versions", [])
    ]


def many_projects_seed(count: int, prefix: str = "fleet") -> dict[str, Any]:
    """``count`` guarded projects ``{prefix}-NNN``, each billed and with one Gemini key."""
    seed = load_seed(None)
    for i in range(count):
        seed["projects"][f"{prefix}-{i:03d}"] = {
            "number": f"{800000000000 + i}",
            "billing_account": f"billingAccounts/{ACCOUNT}",
            "billing_locked": False,
            "services": {GEMINI: "ENABLED"},
            "disable_blocked": {},
            "keys": [
                _key(
                    str(uuid.UUID(int=0xB6 << 120 | i)),
                    f"{prefix} key {i}",
                    f"AIzaSyFAKE-standin-{prefix}-{i:03d}-key-".ljust(39, "0"),
                )
            ],
            "granted_permissions": None,
        }
    return seed
