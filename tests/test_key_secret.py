"""The key hand-off: every project's consumers find their own current keys at a stable name.

A ``{project}`` placeholder in ``keys.secret`` gives each guarded project its own secret; the
policy refuses one secret that the rotations of several projects would each overwrite. The
end-to-end test rotates two projects under one budget against the stand-in.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest

from functions.actions.keys import RotateKeys
from functions.errors import PolicyError
from functions.handler import Guard
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.policy import parse_policy
from standin import StandIn
from standin.permissions import ACT_AS_PERMISSION
from tests.sample import BUDGET, event, policy_doc

SHARED = "projects/guard-host/secrets/gemini-api-key"
PER_PROJECT = "projects/guard-host/secrets/gemini-api-key-{project}"
ROTATE = [{"name": "rotate", "threshold": 0.5, "basis": "actual", "actions": ["rotate_keys"]}]
NOTIFY = [{"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]}]
TWO = {BUDGET: {"projects": ["gemini-prod", "gemini-staging"]}}


def doc(secret: str, budgets: dict[str, Any] = TWO, **more: Any) -> dict[str, Any]:
    return policy_doc(rules=ROTATE, budgets=budgets, keys={"secret": secret}, **more)


def test_one_secret_for_several_rotated_projects_is_refused_naming_the_field() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(doc(SHARED))
    assert info.value.path == "keys.secret"
    assert "gemini-prod, gemini-staging" in info.value.reason
    assert "{project}" in info.value.reason


def test_projects_in_different_budgets_count_too() -> None:
    budgets = {
        BUDGET: {"projects": ["gemini-prod"]},
        "0c5e8f3a-2b7d-4e19-9a4c-6d1f0e2b8a73": {"projects": ["gemini-staging"]},
    }
    with pytest.raises(PolicyError, match=r"^keys\.secret: would be overwritten"):
        parse_policy(doc(SHARED, budgets))


@pytest.mark.parametrize(
    "policy",
    [
        doc(PER_PROJECT),
        doc(SHARED, {BUDGET: {"projects": ["gemini-prod"]}}),  # one writer
        doc(SHARED, protected_projects=["gemini-staging"]),  # a protected project never rotates
        policy_doc(rules=NOTIFY, budgets=TWO, keys={"secret": SHARED}),  # nothing rotates
    ],
    ids=["placeholder", "one project", "other protected", "no rotate_keys"],
)
def test_a_secret_with_one_writer_is_accepted(policy: dict[str, Any]) -> None:
    parse_policy(policy)


def test_the_placeholder_names_each_projects_secret() -> None:
    keys = parse_policy(doc(PER_PROJECT)).keys
    assert (
        keys.secret_for("gemini-prod") == "projects/guard-host/secrets/gemini-api-key-gemini-prod"
    )
    assert parse_policy(policy_doc()).keys.secret_for("gemini-prod") is None


@pytest.mark.parametrize(
    "secret",
    [
        "projects/guard-host/secrets/{project",
        "projects/guard-host/secrets/{projects}",
        "projects/guard-host/secrets/" + "x" * 230 + "-{project}",  # too long once replaced
    ],
)
def test_a_bad_placeholder_is_refused(secret: str) -> None:
    with pytest.raises(PolicyError, match=r"^keys\.secret: must be projects/PROJECT/secrets/NAME"):
        parse_policy(doc(secret))


def payloads(standin: StandIn, secret: str) -> list[dict[str, str]]:
    versions = standin.state["secrets"][secret]["versions"]
    return [json.loads(base64.b64decode(v["data"])) for v in versions]


@pytest.mark.usefixtures("guard_env")
def test_each_project_hands_its_own_keys_to_its_own_secret(standin: StandIn) -> None:
    with standin.world.lock:  # staging gets a key named like one of prod's
        for project in ("gemini-prod", "gemini-staging"):
            standin.world.projects[project].granted_permissions = sorted(
                RotateKeys.permissions | {ACT_AS_PERMISSION}
            )
        (staging,) = standin.world.projects["gemini-staging"].keys
        staging.display_name = "Gemini API Key"
    ledger = MemoryLedger()
    guard = Guard(parse_policy(doc(PER_PROJECT)), lambda: ledger, Logger(stream=io.StringIO()))

    guard.handle(event(600))

    for project, names in {
        "gemini-prod": {"Gemini API Key", "Gemini backend (standard key)"},
        "gemini-staging": {"Gemini API Key"},
    }.items():
        (version,) = payloads(standin, PER_PROJECT.format(project=project))
        live = {
            k["displayName"]: k["keyString"]
            for k in standin.state["projects"][project]["keys"]
            if k["deleteTime"] is None
        }
        assert version == {name: live[name] for name in names}, project
    assert payloads(standin, SHARED) == []
