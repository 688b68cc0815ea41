"""``check``'s ``actas`` lines: may the caller bind replacement keys to their service accounts?

``rotate_keys`` gives each replacement of an auth key the old key's service account, and Google
binds a key to an account only for a caller holding ``iam.serviceAccounts.actAs`` on it
(roles/iam.serviceAccountUser; Terraform: ``key_service_accounts``). For every unprotected guarded
project of a policy that rotates keys, this lists the keys ``rotate_keys`` would select and tests
the permission on each account they are bound to (IAM ``serviceAccounts.testIamPermissions``).
One line per account: PASS, or FAIL with the grant that fixes it; SKIP when no key is bound.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from functions import gcp
from functions.actions import keys_api
from functions.cli.output import FAIL, PASS, SKIP, Output
from functions.policy import Policy

__all__ = ["ACT_AS", "act_as_checks"]

ACT_AS = "iam.serviceAccounts.actAs"

Attempt = Callable[[str, Callable[[], Any]], tuple[Any, BaseException | None]]


def _accounts(policy: Policy, project: str) -> list[str]:
    keys = keys_api.select(keys_api.list_keys(project), policy.keys.match, "", policy.services)
    return sorted({k["serviceAccountEmail"] for k in keys if k.get("serviceAccountEmail")})


def _holds_act_as(account: str) -> bool:
    path = f"v1/projects/-/serviceAccounts/{account}:testIamPermissions"
    reply = gcp.rest_call("POST", "iam", path, json={"permissions": [ACT_AS]})
    return ACT_AS in reply.get("permissions", [])


def act_as_checks(
    out: Output, policy: Policy, guarded: list[str], attempt: Attempt
) -> list[dict[str, str]]:
    if not any("rotate_keys" in rule.actions for rule in policy.rules):
        return []
    checks = []
    for project in (p for p in guarded if not policy.is_protected(p)):
        name = f"actas {project}"
        accounts, error = attempt(
            f"list API keys of {project}", partial(_accounts, policy, project)
        )
        if error is not None:
            checks.append(
                out.check(FAIL, name, str(error)[:300], "grant the caller apikeys.keys.list")
            )
            continue
        if not accounts:
            checks.append(out.check(SKIP, name, "no selected key is bound to a service account"))
        for account in accounts:
            held, error = attempt(f"test {ACT_AS} on {account}", partial(_holds_act_as, account))
            if held:
                checks.append(out.check(PASS, name, f"may bind replacement keys to {account}"))
                continue
            why = str(error)[:300] if error is not None else f"missing {ACT_AS} on {account}"
            fix = (
                f"grant the guard roles/iam.serviceAccountUser on {account} "
                "(infra: add it to key_service_accounts)"
            )
            checks.append(out.check(FAIL, name, why, fix))
    return checks
