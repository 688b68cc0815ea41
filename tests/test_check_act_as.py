"""``check`` tests iam.serviceAccounts.actAs on the accounts rotated keys are bound to.

Against the stand-in, which enforces it as Google does: the API Keys create of a key bound to a
service account is refused (403) without actAs on that account, and IAM's
``serviceAccounts.testIamPermissions`` answers whether the caller holds it.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from functions.actions.keys import RotateKeys
from functions.cli.check import _attempt
from functions.cli.check_act_as import ACT_AS, act_as_checks
from functions.cli.output import Output
from functions.policy import parse_policy
from standin import StandIn
from tests.sample import policy_doc

ACCOUNT = "gemini-app@gemini-prod.iam.gserviceaccount.com"  # the seed's Gemini auth key
ROTATE = [{"name": "r", "threshold": 0.9, "basis": "actual", "actions": ["rotate_keys"]}]

pytestmark = pytest.mark.usefixtures("guard_env")


def checks(rules: list[dict[str, Any]] = ROTATE) -> list[dict[str, str]]:
    policy = parse_policy(policy_doc(rules=rules))
    return act_as_checks(Output(stream=io.StringIO()), policy, ["gemini-prod"], _attempt)


def grant(standin: StandIn, permissions: set[str]) -> None:
    with standin.world.lock:
        standin.world.projects["gemini-prod"].granted_permissions = sorted(permissions)


def test_passes_when_the_guard_may_act_as_the_bound_account(standin: StandIn) -> None:
    grant(standin, set(RotateKeys.permissions) | {ACT_AS})
    (check,) = checks()
    assert check["status"] == "PASS" and ACCOUNT in check["detail"]


def test_fails_naming_the_grant_when_it_may_not(standin: StandIn) -> None:
    grant(standin, set(RotateKeys.permissions))
    (check,) = checks()
    assert check["status"] == "FAIL"
    assert f"missing {ACT_AS} on {ACCOUNT}" in check["detail"]
    assert "roles/iam.serviceAccountUser" in check["fix"] and "key_service_accounts" in check["fix"]


def test_no_line_without_rotate_keys_and_skip_without_bound_keys(standin: StandIn) -> None:
    notify = [{"name": "n", "threshold": 0.5, "basis": "actual", "actions": ["notify"]}]
    assert checks(notify) == []
    with standin.world.lock:
        for key in standin.world.projects["gemini-prod"].keys:
            key.service_account_email = ""
    (check,) = checks()
    assert check["status"] == "SKIP"
