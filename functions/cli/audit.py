"""``audit``: every API key of the guarded projects, what it can do, what is wrong, the fix.

For each project (``--project``, default every project of the policy's budgets): lists its live
keys (API Keys v2; key strings are never read), reads their requests in the last 30 days per
API from Cloud Monitoring (a failed read is "unknown", never 0), and prints each key's facts
and findings (``functions.keyaudit``). Exit 1 when a high-severity finding exists, so a
deployment pipeline can stop on it.

``--fix``: after a plan and a confirmation (``--yes`` to skip; with no terminal and no ``--yes``
it changes nothing and exits 2), restricts each key's API targets to the APIs it called in the
last 30 days (never adding one) and soft-deletes the dormant keys that can reach Gemini
(undeletable for 30 days). Never on a protected project, never on a key whose usage is unknown.
One ledger record (kind ``audit-fix``) per project holds each key's previous restrictions,
written before the first change: ``restore --project P`` puts them back and undeletes the keys.
The exit status of ``--fix`` is 1 when a change failed or a key with a high-severity finding was
left as it is (no fix planned: unknown usage, a protected project, nothing narrower to set).
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from functions import keyaudit, keyusage
from functions.actions import keys_api
from functions.cli.common import UsageError, add_common, load, open_ledger
from functions.cli.output import Output
from functions.errors import ActionFailed, TransientError
from functions.policy import Policy
from functions.redact import redact, redact_text

__all__ = ["DESCRIPTION", "FIX_KIND", "HELP", "add_arguments", "audit_project", "run"]

HELP = "audit the API keys of the guarded projects (exit 1 on a high-severity finding); --fix"
DESCRIPTION = __doc__.split("\n", 1)[1].replace("``", "") if __doc__ else ""
FIX_KIND = "audit-fix"

UsageSource = Callable[[str, datetime, datetime], Mapping[str, Mapping[str, int]]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument(
        "--project",
        action="append",
        metavar="PROJECT",
        help="audit this project (repeatable; default: every project of the policy's budgets)",
    )
    parser.add_argument(
        "--fix",
        action="store_true",
        help="restrict keys to the APIs they called in 30 days, delete dormant Gemini keys",
    )
    parser.add_argument("--yes", action="store_true", help="with --fix: do not ask")


def _projects(policy: Policy, named: list[str] | None) -> list[str]:
    guarded = list(dict.fromkeys(p for b in policy.budgets.values() for p in b.projects))
    return list(dict.fromkeys(named)) if named else guarded


def audit_project(
    project: str,
    policy: Policy,
    now: datetime,
    usage: UsageSource = keyusage.requests_by_key,
) -> tuple[list[keyaudit.KeyReport], dict[str, dict[str, Any]], str | None]:
    """Reports for the live keys of ``project``, the keys by name, and the usage read's error."""
    keys = keys_api.list_keys(project)
    error: str | None = None
    try:
        counts: Mapping[str, Mapping[str, int]] | None = usage(
            project, now - timedelta(days=keyaudit.LOOKBACK_DAYS), now
        )
    except keyusage.UsageUnknown as exc:
        counts, error = None, f"Monitoring read failed: {exc}"
    reports = [
        keyaudit.audit_key(
            key,
            policy.services,
            None if counts is None else dict(counts.get(str(key.get("uid")), {})),
            now,
            error,
        )
        for key in keys
    ]
    return reports, {str(k["name"]): k for k in keys}, error


def _say_report(out: Output, r: keyaudit.KeyReport) -> None:
    # Display names are free text: one holding a key string is redacted like everything else.
    label = f'  "{redact_text(r.display_name)}"' if r.display_name else ""
    out.say(f"  key {r.name}" + label)
    bound = f", bound to {r.service_account}" if r.service_account else ""
    age = f"created {r.created[:10]} ({r.age_days} days ago)" if r.created else "creation unknown"
    out.say(f"    {r.kind} key{bound}; {age}")
    out.say(f"    Gemini: {'CAN CALL' if r.gemini else 'cannot call'} ({r.gemini_reason})")
    out.say(f"    application restriction: {r.application}: {r.application_note}")
    if r.usage is None:
        out.say(f"    requests in 30 days: unknown ({r.usage_error})")
    else:
        calls = ", ".join(f"{api} {n}" for api, n in sorted(r.usage.items())) or "none"
        out.say(f"    requests in 30 days: {calls}" + ("  (dormant)" if r.dormant else ""))
    for f in r.findings:
        out.say(f"    {f.severity.upper():<6}  {f.code}: {f.message}")
        out.say(f"            fix: {f.fix}")


def run(args: argparse.Namespace, out: Output) -> int:
    policy = load(args.policy)
    assert policy is not None
    now = datetime.now(UTC)
    doc: dict[str, Any] = {"projects": [], "worst": None, "fixes": []}
    everything: list[keyaudit.KeyReport] = []
    plans: dict[str, list[keyaudit.Fix]] = {}
    for project in _projects(policy, args.project):
        reports, keys, error = audit_project(project, policy, now)
        everything += reports
        out.say(f"audit {project}: {len(reports)} live API key(s)")
        for report in reports:
            _say_report(out, report)
        doc["projects"].append(
            {"project": project, "usage_error": error, "keys": redact([r.data() for r in reports])}
        )
        if args.fix and not policy.is_protected(project):
            plans[project] = [
                fix for r in reports if (fix := keyaudit.fix_for(r, keys[r.name])) is not None
            ]
        out.say()
    worst = keyaudit.worst(everything)
    counts = {
        s: sum(f.severity == s for r in everything for f in r.findings)
        for s in ("high", "medium", "low")
    }
    doc["worst"], doc["counts"] = worst, counts
    out.say(
        f"{len(everything)} key(s): {counts['high']} high, {counts['medium']} medium, "
        f"{counts['low']} low finding(s)"
    )
    if not args.fix:
        out.document(doc)
        return 1 if worst == "high" else 0
    code = _fix(args, out, policy, plans, now, doc)
    fixed = {f["key"] for f in doc["fixes"] if f["status"] in ("done", "already")}
    left = [r.name for r in everything if r.name not in fixed and keyaudit.worst([r]) == "high"]
    if left:
        out.say(f"{len(left)} key(s) with a high-severity finding left as they are")
    doc["high_left"] = left
    out.document(doc)
    return 1 if code or left else 0


# --- --fix ------------------------------------------------------------------------------------


def _fix(
    args: argparse.Namespace,
    out: Output,
    policy: Policy,
    plans: dict[str, list[keyaudit.Fix]],
    now: datetime,
    doc: dict[str, Any],
) -> int:
    skipped = [p for p in _projects(policy, args.project) if policy.is_protected(p)]
    for project in skipped:
        out.say(f"fix: {project} is a protected project: nothing changes there")
    planned = [(p, f) for p, fixes in plans.items() for f in fixes]
    if not planned:
        out.say("fix: nothing to change")
        return 0
    out.say("fix plan:")
    for project, fix in planned:
        what = (
            f"restrict to {', '.join(fix.targets)}"
            if fix.action == "restrict"
            else "delete (soft: undelete within 30 days)"
        )
        out.say(f"  {project}  {fix.name}: {what}  ({fix.why})")
    out.say("restore --project P undoes it (previous restrictions are kept in the ledger).")
    if not args.yes:
        _confirm(out)
    ledger = open_ledger(policy)
    failed = 0
    for project, fixes in plans.items():
        if not fixes:
            continue
        record = _record(project, fixes, now)
        ledger.create(record["crossing"], record)
        results = [_apply(project, fix) for fix in fixes]
        failed += sum(1 for status, _ in results if status == "failed")
        for fix, (status, detail) in zip(fixes, results, strict=True):
            label = {"done": "DONE", "already": "OK", "failed": "FAIL"}[status]
            out.say(f"{label:<5} {fix.name}: {detail}")
            doc["fixes"].append(
                {"project": project, **_fix_data(fix), "status": status, "detail": detail}
            )

        def update(rec: dict[str, Any], results: list[tuple[str, str]] = results) -> None:
            for entry, (status, detail) in zip(rec["fixes"], results, strict=True):
                entry.update(status=status, detail=detail)
            rec["state"] = "done"
            rec.setdefault("history", []).append(
                {"at": _iso(datetime.now(UTC)), "what": "audit --fix applied", "by": rec["by"]}
            )

        ledger.annotate(record["crossing"], update)
    out.say(
        f"{len(planned) - failed} change(s) made, {failed} failed"
        + ("; fix the cause and run audit --fix again" if failed else "")
    )
    return 1 if failed else 0


def _confirm(out: Output) -> None:
    if not sys.stdin.isatty():
        raise UsageError("audit --fix changes keys: pass --yes to confirm (no terminal to ask on)")
    out.err.write("Type 'fix' to make these changes: ")
    out.err.flush()
    if sys.stdin.readline().strip() != "fix":
        raise UsageError("not confirmed: nothing was changed")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _fix_data(fix: keyaudit.Fix) -> dict[str, Any]:
    return {
        "key": fix.name,
        "action": fix.action,
        "targets": list(fix.targets),
        "previous": dict(fix.previous),
        "why": fix.why,
    }


def _record(project: str, fixes: list[keyaudit.Fix], now: datetime) -> dict[str, Any]:
    try:
        by = getpass.getuser()
    except Exception:
        by = "unknown"
    doc_id = hashlib.sha256(f"{FIX_KIND}|{project}|{_iso(now)}".encode()).hexdigest()[:40]
    return {
        "crossing": doc_id,
        "kind": FIX_KIND,
        "project": project,
        "at": _iso(now),
        "by": by,
        "state": "open",
        "fixes": [{**_fix_data(f), "status": "planned"} for f in fixes],
        "history": [],
    }


def _apply(project: str, fix: keyaudit.Fix) -> tuple[str, str]:
    """One fix, reading the key first: ("done"|"already"|"failed", detail)."""
    try:
        key = keys_api.get_key(project, fix.name)
        if key is None:
            return "failed", "the key no longer exists"
        if fix.action == "delete":
            result = keys_api.delete_key(project, fix.name)
            return ("already" if result == "already deleted" else "done"), (
                f"{result} (undelete within 30 days)"
            )
        if key.get("deleteTime"):
            return "failed", "the key was deleted meanwhile"
        current = key.get("restrictions") or {}
        if current != dict(fix.previous):
            return "failed", "its restrictions changed since the audit read them: audit again"
        keys_api.patch_restrictions(project, fix.name, keyaudit.restricted(current, fix.targets))
        return "done", f"API targets now {', '.join(fix.targets)}"
    except (ActionFailed, TransientError) as exc:
        return "failed", str(exc)
