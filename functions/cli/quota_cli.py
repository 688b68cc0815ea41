"""What ``lock-models`` and ``ceiling --apply`` share: show a quota plan, confirm it, apply it.

The plan is shown before anything changes; applying asks the operator to type the project id
unless ``--yes`` (with no terminal and no ``--yes`` it changes nothing and exits 2). Rows are set
by ``functions.quotas.apply`` (one preference each, both safety checks ignored, ids derived from
``purpose``), so running the command again after a failure sets only what is left.
"""

from __future__ import annotations

import sys
from typing import Any

from functions.cli.common import UsageError, load
from functions.cli.output import Output, table
from functions.errors import GuardError
from functions.policy import Policy
from functions.quotas.apply import Result, apply_targets, record_plan
from functions.quotas.plan import Target

__all__ = ["NotConfirmed", "apply", "confirm", "policy_for", "show", "target_data"]


class NotConfirmed(GuardError):
    """The operator did not type the project id: nothing changes (exit 1)."""


def _value(value: int | None) -> str:
    return "unlimited" if value is None or value < 0 else f"{value:,}"


def show(out: Output, targets: list[Target], indent: str = "  ") -> None:
    rows = [["model", "quota", "now", "->"]]
    rows += [[t.model, t.quota_id, _value(t.current), _value(t.value)] for t in targets]
    out.lines(table(rows, indent))


def target_data(t: Target) -> dict[str, Any]:
    return {"quota_id": t.quota_id, "model": t.model, "current": t.current, "value": t.value}


def policy_for(path: str | None, project: str | None) -> Policy | None:
    """The policy, when one is given or configured; refuses a project it protects."""
    policy = load(path, required=False)
    if policy is not None and project and policy.is_protected(project):
        raise UsageError(
            f"{project} is a protected project in the policy: nothing is changed there"
        )
    return policy


def confirm(project: str, what: str, out: Output, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{what} changes {project}: pass --yes to confirm (no terminal to ask on)")
    out.err.write(f"Type the project id ({project}) to {what}: ")
    out.err.flush()
    answer = sys.stdin.readline().strip()
    if answer != project:
        raise NotConfirmed(f"not confirmed ({answer!r} is not {project!r}): nothing was changed")


def apply(out: Output, project: str, purpose: str, targets: list[Target]) -> Result:
    """Set every row; one line each; the failures are in the result."""
    progress: dict[str, Any] = {}
    record_plan(progress, targets)
    result = apply_targets(
        project, purpose, progress, lambda: None, lambda line: out.say(f"DONE  {line}")
    )
    for failure in [*result.failures, *result.transient]:
        out.say(f"FAIL  {failure}")
    return result
