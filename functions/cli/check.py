"""``check``: preflight a deployment before money is at risk. One PASS/FAIL line per check.

    policy        valid (a bad policy exits 2 with the path of the bad field)
    iam P         every permission the configured actions need on guarded project P
                  (Resource Manager testIamPermissions; protected projects need none of the
                  mutating actions' permissions, since those never run there)
    billing P     P is linked to the policy's billing account (else the budget never sees its spend)
    quotas P      the Gemini quotas throttle relies on, in force now (when a rule uses throttle)
    ceiling P     the quotas in force still hold the policy's ceiling (when it has one)
    topic         events_topic exists (when configured)
    secret        keys.secret exists (when configured; each project's when it holds {project})
    actas P       may bind replacement keys to the service accounts P's rotated keys are bound to
                  (iam.serviceAccounts.actAs on each; only when a rule uses rotate_keys)
    iam ledger    the ledger project grants the Firestore entity permissions the guard uses
    iam watchdog  the metrics scope project grants what the usage watchdog reads (when the
                  policy has a watchdog section)
    ledger        the ledger database answers (one read of the crossings collection)

Checks run as the caller's credentials. To check the deployed identity, impersonate it:
``gcloud auth application-default login --impersonate-service-account=SA_EMAIL``.
Exit 0 when every check passes, 1 when any fails.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import TypeVar

from functions import gcp
from functions.actions import REGISTRY
from functions.cli import check_quotas
from functions.cli.check_act_as import act_as_checks
from functions.cli.common import add_common, load
from functions.cli.output import FAIL, PASS, SKIP, Output
from functions.errors import ActionFailed, TransientError
from functions.ledger import Ledger
from functions.policy import Policy
from functions.watchdog.config import READ_PERMISSIONS

__all__ = [
    "DESCRIPTION",
    "HELP",
    "LEDGER_PERMISSIONS",
    "add_arguments",
    "needed_permissions",
    "run",
]

HELP = "preflight: policy, IAM permissions, billing link, topic, secret, ledger"
DESCRIPTION = __doc__.split("\n", 1)[1].replace("``", "") if __doc__ else ""

ROLE_FIX = (
    "grant the guard's service account the custom role from the infra module on projects/{project} "
    "(it holds exactly the permissions the actions declare)"
)
# What the ledger does with its documents: create-if-absent, read, conditional update.
LEDGER_PERMISSIONS = frozenset(
    {"datastore.entities.create", "datastore.entities.get", "datastore.entities.update"}
)

T = TypeVar("T")
# "POST https://...?$alt=json: " in google.api_core's REST errors: noise on a check line.
_REQUEST = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) \S+: ")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)


def needed_permissions(policy: Policy, project: str) -> dict[str, list[str]]:
    """permission -> the actions needing it on ``project`` (no mutating one if it is protected)."""
    needed: dict[str, list[str]] = {}
    for rule in policy.rules:
        for name in rule.actions:
            action = REGISTRY[name]
            if policy.is_protected(project) and action.mutates:
                continue
            for permission in action.permissions:
                if name not in needed.setdefault(permission, []):
                    needed[permission].append(name)
    return dict(sorted(needed.items()))


def projects(policy: Policy) -> list[str]:
    """Every guarded project, in policy order, once."""
    seen: list[str] = []
    for budget in policy.budgets.values():
        seen += [p for p in budget.projects if p not in seen]
    return seen


def run(args: argparse.Namespace, out: Output) -> int:
    policy = load(args.policy)
    assert policy is not None
    guarded = projects(policy)
    actions = sorted({name for rule in policy.rules for name in rule.actions})
    checks = [
        out.check(
            PASS,
            "policy",
            f"{len(policy.budgets)} budget(s), {len(guarded)} project(s), {len(policy.rules)} "
            "rule(s); "
            f"actions: {', '.join(actions)}" + ("; DRY RUN" if policy.dry_run else ""),
        )
    ]
    for project in guarded:
        checks += _iam(
            out, f"iam {project}", project, needed_permissions(policy, project), ROLE_FIX
        )
        checks.append(_billing(out, policy, project))
        checks += check_quotas.quota_checks(out, policy, project)
    checks.append(_topic(out, policy))
    checks += _secrets(out, policy, guarded)
    checks += act_as_checks(out, policy, guarded, _attempt)
    checks += _iam(
        out,
        "iam ledger",
        policy.ledger.project,
        {p: ["ledger"] for p in sorted(LEDGER_PERMISSIONS)},
        "grant the guard's service account roles/datastore.user on projects/{project}",
    )
    if policy.watchdog is not None:
        checks += _iam(
            out,
            "iam watchdog",
            policy.watchdog.scope_project,
            {p: ["watchdog"] for p in sorted(READ_PERMISSIONS)},
            "grant the guard's service account the watchdog reader role (infra/watchdog.tf) on "
            "projects/{project}, the host of the guarded projects' metrics scope",
        )
    checks.append(_ledger(out, policy))
    failed = sum(1 for c in checks if c["status"] == FAIL)
    out.say()
    out.say(f"{failed} check(s) failed" if failed else f"all {len(checks)} checks passed")
    out.document({"ok": not failed, "failed": failed, "checks": checks})
    return 1 if failed else 0


# --- one function per check ---------------------------------------------------------------------


def _attempt(what: str, fn: Callable[[], T]) -> tuple[T | None, BaseException | None]:
    """Run one Google call through ``gcp.call``; (result, None) or (None, the error)."""
    try:
        return gcp.call(what, fn), None
    except Exception as exc:
        return None, exc


def _cause(exc: BaseException) -> BaseException:
    """The google.api_core error behind the guard's wrapping (or the error itself)."""
    if isinstance(exc, (ActionFailed, TransientError)) and exc.__cause__ is not None:
        cause = exc.__cause__
        return getattr(cause, "cause", None) or cause
    return exc


def _describe(exc: BaseException) -> str:
    text = exc.reason if isinstance(exc, ActionFailed) else f"{type(exc).__name__}: {exc}"
    return _REQUEST.sub("", text)[:500]


def _is(exc: BaseException, *names: str) -> bool:
    """True when the underlying Google error is one of ``names`` (NotFound, PermissionDenied...)."""
    return type(_cause(exc)).__name__ in names


def _generic_fix(exc: BaseException) -> str:
    cause = _cause(exc)
    if type(cause).__module__.startswith("google.auth"):
        return (
            "no usable credentials: run `gcloud auth application-default login` "
            "(or impersonate the guard's identity)"
        )
    if isinstance(exc, TransientError):
        return "the API did not answer; check the network and try again"
    return "see the error above"


def _iam(
    out: Output, name: str, project: str, needed: dict[str, list[str]], fix: str
) -> list[dict[str, str]]:
    if not needed:
        return [
            out.check(
                SKIP, name, "no permission needed (a protected project: mutating actions never run)"
            )
        ]
    from google.cloud import resourcemanager_v3

    resource = f"projects/{project}"
    response, error = _attempt(
        f"test IAM permissions on {resource}",
        lambda: gcp.client(resourcemanager_v3.ProjectsClient).test_iam_permissions(
            resource=resource, permissions=list(needed), retry=None, timeout=gcp.TIMEOUT
        ),
    )
    if error is not None:
        if _is(error, "PermissionDenied", "NotFound", "Forbidden"):
            why = f"{_describe(error)} (no project {project}, or the caller may not see it)"
            return [
                out.check(FAIL, name, why, f"check the project id; {fix.format(project=project)}")
            ]
        return [out.check(FAIL, name, _describe(error), _generic_fix(error))]
    assert response is not None
    granted = set(response.permissions)
    missing = [p for p in needed if p not in granted]
    if not missing:
        entry = out.check(PASS, name, f"all {len(needed)} permission(s) needed are granted")
        return [{**entry, "permissions": ", ".join(needed)}]
    return [
        out.check(
            FAIL,
            name,
            f"missing {p} (needed by {', '.join(needed[p])})",
            fix.format(project=project),
        )
        for p in missing
    ]


def _billing(out: Output, policy: Policy, project: str) -> dict[str, str]:
    from google.cloud import billing_v1

    name = f"billing {project}"
    info, error = _attempt(
        f"read billing info of {project}",
        lambda: gcp.client(billing_v1.CloudBillingClient).get_project_billing_info(
            name=f"projects/{project}", retry=None, timeout=gcp.TIMEOUT
        ),
    )
    if error is not None:
        fix = (
            f"grant the caller resourcemanager.projects.get on projects/{project}, and check the "
            "project id"
            if _is(error, "PermissionDenied", "NotFound", "Forbidden")
            else _generic_fix(error)
        )
        return out.check(FAIL, name, _describe(error), fix)
    assert info is not None
    expected = f"billingAccounts/{policy.billing_account}"
    link = f"gcloud billing projects link {project} --billing-account={policy.billing_account}"
    if not info.billing_account_name or not info.billing_enabled:
        return out.check(
            FAIL,
            name,
            "no billing account linked",
            "if the guard unlinked it, fix the cause and run `budget-guard restore --project "
            f"{project}`; else `{link}`",
        )
    if info.billing_account_name != expected:
        return out.check(
            FAIL,
            name,
            f"linked to {info.billing_account_name}, not the policy's {expected}: the budget does "
            "not see this spend",
            f"`{link}`, or guard this project with a budget on its own billing account",
        )
    return out.check(PASS, name, f"linked to {expected}")


def _topic(out: Output, policy: Policy) -> dict[str, str]:
    topic = policy.events_topic
    if topic is None:
        return out.check(SKIP, "topic", "events_topic not set: notify only logs")
    import google.cloud.pubsub_v1 as pubsub_v1

    _, error = _attempt(
        f"read topic {topic}",
        lambda: pubsub_v1.PublisherClient().get_topic(  # honours PUBSUB_EMULATOR_HOST
            topic=topic, retry=None, timeout=gcp.TIMEOUT
        ),
    )
    if error is None:
        return out.check(PASS, "topic", f"{topic} exists")
    project, _, short = topic.split("/", 3)[1:]
    if _is(error, "NotFound"):
        return out.check(
            FAIL,
            "topic",
            f"{topic} does not exist",
            f"`gcloud pubsub topics create {short} --project={project}`",
        )
    if _is(error, "PermissionDenied", "Forbidden"):
        return out.check(
            FAIL,
            "topic",
            f"cannot read {topic}: {_describe(error)}",
            f"grant the caller pubsub.topics.get on {topic} (the guard itself needs "
            "roles/pubsub.publisher on it)",
        )
    return out.check(FAIL, "topic", _describe(error), _generic_fix(error))


def _secrets(out: Output, policy: Policy, guarded: list[str]) -> list[dict[str, str]]:
    """One check per distinct key secret (one per project when keys.secret holds {project})."""
    if policy.keys.secret is None:
        return [
            out.check(SKIP, "secret", "keys.secret not set: rotated key strings are not handed off")
        ]
    writers = [p for p in guarded if not policy.is_protected(p)] or guarded
    names = dict.fromkeys(policy.keys.secret_for(p) for p in writers)
    return [_secret(out, name) for name in names if name is not None]


def _secret(out: Output, secret: str) -> dict[str, str]:
    from google.cloud import secretmanager

    _, error = _attempt(
        f"read secret {secret}",
        lambda: gcp.client(secretmanager.SecretManagerServiceClient).get_secret(
            name=secret, retry=None, timeout=gcp.TIMEOUT
        ),
    )
    if error is None:
        return out.check(PASS, "secret", f"{secret} exists")
    project, _, short = secret.split("/", 3)[1:]
    if _is(error, "NotFound"):
        return out.check(
            FAIL,
            "secret",
            f"{secret} does not exist",
            f"`gcloud secrets create {short} --project={project}`; the guard needs "
            "roles/secretmanager.secretVersionAdder on it",
        )
    if _is(error, "PermissionDenied", "Forbidden"):
        return out.check(
            FAIL,
            "secret",
            f"cannot read {secret}: {_describe(error)}",
            f"grant the caller secretmanager.secrets.get on {secret} (the guard itself needs "
            "roles/secretmanager.secretVersionAdder)",
        )
    return out.check(FAIL, "secret", _describe(error), _generic_fix(error))


def _ledger(out: Output, policy: Policy) -> dict[str, str]:
    from google.cloud import firestore

    config = policy.ledger
    where = f"Firestore database {config.database} in {config.project}"
    try:
        client = firestore.Client(
            project=config.project, database=config.database
        )  # honours FIRESTORE_EMULATOR_HOST
    except Exception as exc:
        return out.check(FAIL, "ledger", f"{where}: {_describe(exc)}", _generic_fix(exc))
    query = client.collection(Ledger.collection).limit(1)
    docs, error = _attempt(f"read {where}", lambda: query.get(retry=None, timeout=gcp.TIMEOUT))
    if error is None:
        return out.check(PASS, "ledger", f"{where} answers ({len(docs or [])} crossing(s) read)")
    if _is(error, "NotFound"):
        fix = (
            f"`gcloud firestore databases create --database={config.database} --location=LOCATION "
            f"--project={config.project}` (the infra module creates it)"
        )
        return out.check(FAIL, "ledger", f"{where} does not exist", fix)
    if _is(error, "PermissionDenied", "Forbidden"):
        return out.check(
            FAIL,
            "ledger",
            f"{where}: {_describe(error)}",
            f"grant the guard's service account roles/datastore.user on projects/{config.project}",
        )
    return out.check(FAIL, "ledger", f"{where}: {_describe(error)}", _generic_fix(error))
