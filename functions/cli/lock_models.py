"""``lock-models``: set every Gemini model's quotas to 0 in a project, except the allowed ones.

Preventive: leaked keys are spent on the models a project never uses (image, video, TTS,
long-context Pro). Which models exist: the project's quota infos (the ``model`` values of its
Gemini quotas) and the price table's models. Every quota family (requests per minute, requests
per day, input tokens per minute) of the project's tier (``--tier``, default every tier's ids the
project has) goes to 0 for every model not in ``--allow``. The plan is shown first; ``--dry-run``
shows it only. A quota already 0 is left alone. Undo one model by raising its quotas in the
console, or with Terraform (infra/quotas.tf manages the same preferences).
"""

from __future__ import annotations

import argparse

from functions.cli import quota_cli
from functions.cli.common import add_common
from functions.cli.output import Output
from functions.policy import QUOTA_TIERS

__all__ = ["DESCRIPTION", "HELP", "PURPOSE", "add_arguments", "run"]

HELP = "set the Gemini quotas of every model but the allowed ones to 0 (preventive)"
DESCRIPTION = __doc__.split("\n", 1)[1].replace("``", "") if __doc__ else ""
PURPOSE = "lock"


def _models(text: str) -> list[str]:
    models = [m.strip() for m in text.split(",") if m.strip()]
    if not models:
        raise argparse.ArgumentTypeError("name at least one model")
    return models


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True, metavar="PROJECT", help="the project to lock")
    parser.add_argument(
        "--allow",
        required=True,
        type=_models,
        metavar="MODEL[,MODEL...]",
        help="the models the project uses: their quotas are left as they are",
    )
    parser.add_argument("--tier", choices=QUOTA_TIERS, default="auto", help="usage tier's ids")
    parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_common(parser, policy_help="a policy JSON file: a project it protects is refused")


def run(args: argparse.Namespace, out: Output) -> int:
    from functions.prices import load_prices
    from functions.quotas import api
    from functions.quotas.plan import lock_targets

    project = args.project
    quota_cli.policy_for(args.policy, project)
    infos = api.infos(project)
    listed = sorted({m for info in infos.values() for m in info.values})
    unknown = [m for m in args.allow if m not in listed]
    targets = lock_targets(infos, args.allow, load_prices().models, args.tier)
    doc = {
        "project": project,
        "allow": args.allow,
        "models_listed": listed,
        "plan": [quota_cli.target_data(t) for t in targets],
        "applied": False,
        "ok": True,
    }
    out.say(f"lock-models {project}: allow {', '.join(args.allow)}")
    if unknown:
        out.say(f"  note: the project's quotas list no model {', '.join(unknown)}")
    if not targets:
        out.say("  nothing to lock: every other model's quotas are 0 already")
        out.document(doc)
        return 0
    locked = sorted({t.model for t in targets})
    out.say(f"  {len(targets)} quota(s) of {len(locked)} model(s) to 0:")
    quota_cli.show(out, targets, "    ")
    if args.dry_run:
        out.say("dry run: nothing changed")
        out.document(doc)
        return 0
    quota_cli.confirm(project, "lock its unused models", out, args.yes)
    result = quota_cli.apply(out, project, PURPOSE, targets)
    doc.update(applied=True, ok=not (result.failures or result.transient))
    doc["locked"] = result.lowered
    out.say()
    out.say(
        f"locked {len(locked)} model(s) in {project}: their requests get 429 from now on"
        if doc["ok"]
        else f"{len(result.failures) + len(result.transient)} quota(s) failed; run it again"
    )
    out.document(doc)
    return 0 if doc["ok"] else 1
