"""``restore``: undo the guard's brakes on a project once a human has fixed the cause.

From the ledger records of the project in the period (``--period``, default the latest one with a
crossing for the project; dry-run records are ignored, nothing was done then):

    disable_billing  progress.billing_account  -> link billing back to that account
    disable_service  progress.disabled         -> enable those services again
    revoke_keys      progress.deleted          -> undelete those keys (possible for 30 days)
    throttle         progress.replaced         -> raise the quotas back to the recorded values
                                                  (an increase Google does not grant at once is
                                                  reported PEND: the quota stays low until then)
    rotate_keys      progress.deleted          -> left deleted: they may be the leaked keys and
                                                  their replacements are live; --include-rotated
                                                  undeletes them too
    audit --fix      fixes[].previous          -> the keys' previous restrictions back, deleted
                                                  keys undeleted (functions.cli.restore_keys)
    leaked-key       progress.deleted          -> left deleted; --include-leaked undeletes it.
                                                  No step undeletes a key an abuse event named
                                                  without --include-leaked

First the restore marker (``functions/restored.py``): the project label
budget-guard-restored=<period>, through Resource Manager (needs resourcemanager.projects.update),
so that the guard, should it ever run without its ledger this period, does not brake the project
again. Then billing (some services need it to be enabled), then services, then keys. Every step
reads the state first: what is already back is reported and left alone, and billing linked to
another account is never changed. Asks the operator to type the project id unless ``--yes``; with no
terminal to ask on and no ``--yes`` it changes nothing and exits 2.

Each crossing record it acted for gets ``history`` lines for every step, and ``restored_at`` /
``restored_by`` when all its steps succeeded. The crossing stays ``done``: the guard does not act
on it again this period (a new period or a new budget amount is a new crossing).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions import gcp, restored
from functions.cli import restore_keys, restore_quotas
from functions.cli.common import (
    UsageError,
    add_common,
    doc_id,
    load,
    open_ledger,
    pending_actions,
    period,
)
from functions.cli.output import Output
from functions.errors import ActionFailed, CrossingBusy, GuardError, TransientError
from functions.ledger import Ledger
from functions.ledger.base import HISTORY_LIMIT

__all__ = ["DESCRIPTION", "HELP", "Step", "add_arguments", "plan_steps", "run"]

HELP = "undo the guard's brakes on a project: link billing, enable services, undelete keys"
DESCRIPTION = __doc__.split("\n", 1)[1].replace("``", "") if __doc__ else ""

APIKEYS, APIKEYS_VERSION = "apikeys", "v2"
ORDER = {"marker": -1, "billing": 0, "service": 1, "key": 2, "quota": 3, "restrictions": 4}


@dataclass
class Step:
    """One thing to put back, the action that took it away, and the crossings that recorded it."""

    kind: str  # "marker", "billing", "service", "key" or "quota"
    target: str  # the period (marker), billing account, service name or key name
    action: str
    crossings: list[str] = field(default_factory=list)
    run: bool = True  # False: reported only (a key rotate_keys deleted, without --include-rotated)
    note: str = ""
    status: str = "planned"  # restored, already, left, failed, pending
    detail: str = ""
    payload: dict[str, Any] = field(default_factory=dict)  # what a step needs (restrictions)
    value: Any = None  # quota: the value to put back

    @property
    def what(self) -> str:
        return {
            "marker": f"label the project {restored.LABEL}={restored.stamp(self.target)}",
            "billing": f"link billing to {self.target}",
            "service": f"enable {self.target}",
            "key": f"undelete key {self.target}",
            "restrictions": f"restore the API restrictions of key {self.target}",
            "quota": f"raise quota {self.target} back to "
            + ("unlimited" if (self.value or 0) < 0 else str(self.value)),
        }[self.kind]

    def data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "action": self.action,
            "what": self.what,
            "run": self.run,
            "note": self.note,
            "status": self.status,
            "detail": self.detail,
            "crossings": self.crossings,
        }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument(
        "--project", required=True, metavar="PROJECT", help="the project to restore"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--include-rotated",
        action="store_true",
        help="also undelete the keys rotate_keys deleted (their replacements stay live)",
    )
    parser.add_argument(
        "--include-leaked",
        action="store_true",
        help="also undelete keys a LEAKED_CREDENTIALS abuse event named",
    )
    parser.add_argument(
        "--period",
        type=period,
        metavar="RFC3339",
        help="the budget period (default: the latest with a crossing for the project)",
    )


def _names(value: Any) -> list[str]:
    """A progress entry's names: a list of names, or a mapping keyed by them."""
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list):
        return [v if isinstance(v, str) else str(v.get("name")) for v in value if v]
    return [value] if isinstance(value, str) and value else []


def plan_steps(records: list[dict[str, Any]], include_rotated: bool) -> list[Step]:
    """What to put back, from the crossing records, each target once, in restore order."""
    steps: dict[tuple[str, str], Step] = {}

    def add(kind: str, target: str, action: str, record: dict[str, Any], **extra: Any) -> None:
        step = steps.setdefault((kind, target), Step(kind, target, action, **extra))
        if doc_id(record) not in step.crossings:
            step.crossings.append(doc_id(record))

    for record in records:
        for name, entry in (record.get("actions") or {}).items():
            progress = entry.get("progress") or {}
            if name == "disable_billing" and progress.get("billing_account"):
                add("billing", progress["billing_account"], name, record)
            elif name == "disable_service":
                for service in _names(progress.get("disabled")):
                    add("service", service, name, record)
            elif name == "revoke_keys":
                for key in _names(progress.get("deleted")):
                    add("key", key, name, record)
            elif name == "throttle":
                for target, value in restore_quotas.quota_rows(progress):
                    add("quota", target, name, record, value=value)
            elif name == "rotate_keys":
                replacements = progress.get("replacements") or {}
                for key in _names(progress.get("deleted")):
                    new = replacements.get(key) if isinstance(replacements, dict) else None
                    live = f"its replacement {new} is live" if new else "its replacement is live"
                    if include_rotated:
                        note = f"deleted by rotate_keys, undeleted on request ({live} too)"
                    else:
                        note = (
                            f"deleted by rotate_keys: may be the leaked key, {live}; "
                            "--include-rotated undeletes it"
                        )
                    add("key", key, name, record, run=include_rotated, note=note)
    return sorted(steps.values(), key=lambda s: (ORDER[s.kind], s.target))


def run(args: argparse.Namespace, out: Output) -> int:
    policy = load(args.policy)
    assert policy is not None
    project = args.project
    ledger = open_ledger(policy)
    every = [r for r in ledger.records(project=project) if not r.get("dry_run")]
    records = [r for r in every if restore_keys.is_crossing(r)]
    chosen = args.period or max((r["period"] for r in records), default=None)
    records = [r for r in records if r.get("period") == chosen]
    steps = plan_steps(records, args.include_rotated)
    steps += restore_keys.offending_steps(records, Step)
    steps += restore_keys.fix_steps(every, Step) + restore_keys.leak_steps(
        every, args.include_leaked, Step
    )
    restore_keys.hold_leaked(steps, restore_keys.leaked_keys(every), args.include_leaked)
    steps.sort(key=lambda s: (ORDER[s.kind], s.target))
    records += restore_keys.fix_records(every) + restore_keys.leak_records(every)
    doc: dict[str, Any] = {
        "project": project,
        "period": chosen,
        "crossings": [doc_id(r) for r in records],
        "steps": [],
        "confirmed": False,
        "ok": True,
    }
    if not any(s.run for s in steps):
        out.say(
            f"nothing to restore on {project}"
            + (f" in period {chosen}" if chosen else ": no crossing in the ledger")
        )
        for step in steps:
            out.say(f"  left as is: {step.what} ({step.note})")
        doc["steps"] = [s.data() for s in steps]
        out.document(doc)
        return 0

    busy = [r for r in records if r.get("state") == "open" and _lease_live(r)]
    if busy:
        raise CrossingBusy(
            f"the guard is acting on {project} right now (rule {busy[0].get('rule')}); try again "
            "in a few minutes"
        )
    if chosen:  # first: the guard must not brake again this period, ledger or not
        steps.insert(0, Step("marker", chosen, "restore", [doc_id(r) for r in records]))
    _show_plan(out, project, chosen, records, steps)
    if not args.yes:
        _confirm(project, out)
    doc["confirmed"] = True

    for step in steps:
        if not step.run:
            flag = "leaked" if step.note == restore_keys.LEAK_NOTE else "rotated"
            step.status, step.detail = "left", f"left deleted (--include-{flag} undeletes it)"
        else:
            _execute(step, project)
        label = {
            "restored": "DONE",
            "already": "OK",
            "left": "LEFT",
            "failed": "FAIL",
            "pending": "PEND",
        }[step.status]
        out.say(f"{label:<5} {step.what}: {step.detail}")
    _record(ledger, records, steps, _operator())
    failed = [s for s in steps if s.status == "failed"]
    doc["steps"] = [s.data() for s in steps]
    doc["ok"] = not failed
    out.say()
    pending = [s for s in steps if s.status == "pending"]
    doc["pending"] = [s.target for s in pending]
    if pending:
        out.say(
            f"{len(pending)} quota increase(s) pending at Google: those quotas stay low until "
            "granted (see each PEND line); run restore again to check"
        )
    if failed:
        out.say(
            f"{len(failed)} step(s) failed; fix them and run restore again (what is back is left "
            "alone)"
        )
    elif not pending:
        out.say(
            f"{project} restored. The crossings stay latched: the guard will not act on them "
            "again this period."
        )
    out.document(doc)
    return 1 if failed else 0


def _lease_live(record: dict[str, Any]) -> bool:
    lease = record.get("lease_until")
    return bool(lease and datetime.fromisoformat(lease) > datetime.now(UTC))


def _show_plan(
    out: Output, project: str, chosen: str | None, records: list[dict[str, Any]], steps: list[Step]
) -> None:
    rules = ", ".join(sorted({str(r.get("rule")) for r in records}))
    if chosen is None:  # only audit --fix or leaked-key records (functions/cli/restore_keys.py)
        out.say(f"restore {project}, from {len(records)} key record(s) in the ledger:")
    else:
        out.say(
            f"restore {project}, period {chosen}, from {len(records)} crossing(s) (rules: {rules}):"
        )
    for step in steps:
        if step.run:
            out.say(f"  {step.what}  (by {step.action})" + (f"; {step.note}" if step.note else ""))
        else:
            out.say(f"  leave {step.target} deleted  ({step.note})")
    for record in records:
        unsettled = pending_actions(record)
        if record.get("state") == "open" and unsettled:
            out.say(
                f"  warning: crossing {record.get('rule')} is still open ({', '.join(unsettled)} "
                "not settled): "
                "the next notification retries those actions"
            )
    out.say("The crossings stay latched: the guard will not act on them again this period.")


def _confirm(project: str, out: Output) -> None:
    if not sys.stdin.isatty():
        raise UsageError(
            f"restore changes {project}: pass --yes to confirm (there is no terminal to ask on)"
        )
    out.err.write(f"Type the project id ({project}) to restore it: ")
    out.err.flush()
    answer = sys.stdin.readline().strip()
    if answer != project:
        raise NotConfirmed(f"not confirmed ({answer!r} is not {project!r}): nothing was changed")


class NotConfirmed(GuardError):
    """The operator did not type the project id: nothing changes (exit 1)."""


# --- the steps ----------------------------------------------------------------------------------


def _execute(step: Step, project: str) -> None:
    try:
        if step.kind == "restrictions":
            step.status, step.detail = restore_keys.restrictions(project, step.target, step.payload)
        elif step.kind == "quota":
            step.status, step.detail = restore_quotas.restore_quota(
                project, step.target, step.value
            )
        else:
            step.status, step.detail = {
                "marker": _marker,
                "billing": _billing,
                "service": _service,
                "key": _key,
            }[step.kind](project, step.target)
    except ActionFailed as exc:
        step.status, step.detail = "failed", str(exc)
    except TransientError as exc:
        step.status, step.detail = "failed", f"{exc}. Fix: try again later"
    except Exception as exc:  # credentials, network...: one failed step must not hide the others
        step.status, step.detail = "failed", f"{type(exc).__name__}: {exc}"


def _marker(project: str, period: str) -> tuple[str, str]:
    if restored.on_record(project, period):
        return "already", f"{restored.LABEL} is already {restored.stamp(period)}"
    value = restored.mark(project, period)
    return "restored", f"labelled {restored.LABEL}={value}: the guard will not brake it again"


def _billing(project: str, account: str) -> tuple[str, str]:
    from google.api_core import exceptions as gexc
    from google.cloud import billing_v1

    client = gcp.client(billing_v1.CloudBillingClient)
    name = f"projects/{project}"
    info = gcp.call(
        f"read billing info of {project}",
        lambda: client.get_project_billing_info(name=name, retry=None, timeout=gcp.TIMEOUT),
        {gexc.Forbidden: f"you need resourcemanager.projects.get on {name}"},
    )
    if info.billing_account_name == account:
        return "already", f"{project} is linked to {account}"
    if info.billing_account_name:
        return "already", f"{project} is linked to {info.billing_account_name} now; left as is"
    link = billing_v1.ProjectBillingInfo(billing_account_name=account)
    gcp.call(
        f"link billing of {project} to {account}",
        lambda: client.update_project_billing_info(
            name=name, project_billing_info=link, retry=None, timeout=gcp.TIMEOUT
        ),
        {
            "FAILED_PRECONDITION": f"the billing link of {project} is locked: unlock it first",
            gexc.Forbidden: (
                f"you need resourcemanager.projects.createBillingAssignment on {name} (Project "
                "Billing "
                f"Manager) and billing.resourceAssociations.create on {account} (Billing Account "
                "User)"
            ),
        },
    )
    return "restored", f"linked {project} to {account}"


def _service(project: str, service: str) -> tuple[str, str]:
    from google.api_core import exceptions as gexc
    from google.cloud import service_usage_v1

    client = gcp.client(service_usage_v1.ServiceUsageClient)
    name = f"projects/{project}/services/{service}"
    remedies = {
        gexc.Forbidden: (
            f"you need serviceusage.services.enable on projects/{project} (Service Usage Admin)"
        )
    }
    current = gcp.call(
        f"read {service} on {project}",
        lambda: client.get_service(request={"name": name}, retry=None, timeout=gcp.TIMEOUT),
        remedies,
    )
    if current.state == service_usage_v1.State.ENABLED:
        return "already", f"{service} is enabled"
    operation = gcp.call(
        f"enable {service} on {project}",
        lambda: client.enable_service(request={"name": name}, retry=None, timeout=gcp.TIMEOUT),
        remedies,
    )
    gcp.call(f"enable {service} on {project}", lambda: gcp.wait(operation), remedies)
    return "restored", f"enabled {service}"


def _key(project: str, name: str) -> tuple[str, str]:
    from google.api_core import exceptions as gexc

    remedies: dict[type[BaseException] | str, str] = {
        gexc.NotFound: "the key is gone for good: keys can be undeleted for 30 days after deletion",
        gexc.Forbidden: f"you need apikeys.keys.undelete on projects/{project} (API Keys Admin)",
    }
    what = f"undelete API key {name}"

    def undelete() -> dict[str, Any]:
        try:
            return dict(gcp.rest_call("POST", APIKEYS, f"{APIKEYS_VERSION}/{name}:undelete"))
        except gexc.BadRequest as exc:
            if gcp.status(exc) == "FAILED_PRECONDITION":
                key = gcp.rest_call("GET", APIKEYS, f"{APIKEYS_VERSION}/{name}")
                if not key.get("deleteTime"):
                    return {"done": True, "already": True}
            raise

    operation = gcp.call(what, undelete, remedies)
    if operation.get("already"):
        return "already", "the key is live"
    key = gcp.call(what, lambda: gcp.rest_wait(APIKEYS, APIKEYS_VERSION, operation), remedies)
    label = key.get("displayName")
    return "restored", "undeleted" + (
        f" ({label})" if label else ""
    ) + ": its key string works again"


# --- the ledger ---------------------------------------------------------------------------------


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _record(ledger: Ledger, records: list[dict[str, Any]], steps: list[Step], by: str) -> None:
    """Add each step to the history of the crossings it came from; mark fully restored ones."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    for record in records:
        mine = [s for s in steps if doc_id(record) in s.crossings]
        if not mine:
            continue

        def update(doc: dict[str, Any], mine: list[Step] = mine) -> None:
            history = doc.setdefault("history", [])
            for step in mine:
                history.append(
                    {
                        "at": now,
                        "what": f"restore: {step.what}: {step.status}",
                        "detail": step.detail,
                        "by": by,
                    }
                )
            del history[:-HISTORY_LIMIT]
            done = [s for s in mine if s.status in ("restored", "already")]
            if done and all(s.status not in ("failed", "pending") for s in mine):
                doc["restored_at"] = now
                doc["restored_by"] = by
            doc["updated_at"] = now

        ledger.annotate(doc_id(record), update)
