"""``ceiling``: per-model Gemini quotas such that the worst case one day can cost stays under an
amount, so Google's own rate limiter holds "a leaked key costs me at most AMOUNT a day".

For each model (``--models``; else the models the project's quotas list with ``--project``; else
the price table's), an equal share of ``--daily``; input tokens per minute fixed at
``--input-tokens-per-minute`` (the largest prompt a request may carry); requests per day the most
whose worst case fits the share (functions/quotas/ceiling.py; the README explains the arithmetic
and what the ceiling does not cover). Prints per model the quotas and the worst case they allow,
and the total. ``--apply`` (with ``--project``) sets them after showing the plan, never raising a
quota that is lower already; ``--json`` prints the plan with a Terraform-ready
``quota_preferences`` map (infra variable ``quota_values``). Max output tokens per request: the
Gemini API's models.get ``outputTokenLimit`` when GEMINI_API_KEY is set and it answers, else the
price table's dated value.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import Any

from functions.cli import quota_cli
from functions.cli.common import UsageError, add_common, amount
from functions.cli.output import Output, table
from functions.policy import QUOTA_TIERS

__all__ = ["DESCRIPTION", "HELP", "PURPOSE", "add_arguments", "run"]

HELP = "per-model quotas so that one day's worst case stays under an amount"
DESCRIPTION = __doc__.split("\n", 1)[1].replace("``", "") if __doc__ else ""
PURPOSE = "ceiling"
DEFAULT_TPM = 100_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--daily", type=amount, metavar="AMOUNT", help="per day (default: the policy's ceiling)"
    )
    parser.add_argument("--project", metavar="PROJECT", help="read its models; --apply sets them")
    parser.add_argument(
        "--models",
        type=lambda text: [m.strip() for m in text.split(",") if m.strip()],
        metavar="MODEL[,MODEL...]",
        help="the models to set (default: the project's, else the price table's)",
    )
    parser.add_argument(
        "--input-tokens-per-minute",
        type=int,
        default=DEFAULT_TPM,
        metavar="N",
        help=f"input-token quota per model: the largest prompt allowed (default {DEFAULT_TPM:,})",
    )
    parser.add_argument("--tier", choices=QUOTA_TIERS, default="auto", help="usage tier's ids")
    parser.add_argument("--apply", action="store_true", help="set the quotas (plan shown first)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_common(
        parser,
        policy_help="a policy JSON file: its ceiling is the default; a project it protects is "
        "refused",
    )


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def run(args: argparse.Namespace, out: Output) -> int:
    from functions.prices import load_prices
    from functions.quotas import ceiling, models

    if args.apply and not args.project:
        raise UsageError("--apply needs --project")
    policy = quota_cli.policy_for(args.policy, args.project if args.apply else None)
    if args.daily is None and policy is not None and policy.ceiling is not None:
        args.daily = policy.ceiling.daily
        args.models = args.models or list(policy.ceiling.models) or None
    if args.daily is None:
        raise UsageError("give --daily AMOUNT (or a policy with a ceiling)")
    if args.daily <= 0 or args.input_tokens_per_minute < 1:
        raise UsageError("--daily must be > 0 and --input-tokens-per-minute >= 1")
    prices = load_prices()
    infos: dict[str, Any] = {}
    if args.project:
        from functions.quotas import api

        infos = api.infos(args.project)
    listed = sorted({m for info in infos.values() for m in info.values})
    chosen = args.models or listed or prices.models
    limits = models.output_token_limits(chosen)
    result = ceiling.plan(args.daily, chosen, prices, args.input_tokens_per_minute, limits)
    rows = [["model", "requests/day", "input tokens/min", "max output", "worst case/day"]]
    for row in result.rows:
        rows.append(
            [
                row.model + ("" if row.known else " (unpriced: dearest rate)"),
                f"{row.requests_per_day:,}" + ("" if row.requests_per_day else " (locked)"),
                f"{row.input_tokens_per_minute:,}",
                f"{row.output_token_limit:,}",
                f"{_money(row.worst_case)} {result.currency}",
            ]
        )
    out.say(
        f"ceiling {_money(args.daily)} {result.currency}/day over {len(result.rows)} model(s), "
        f"{_money(result.daily / max(len(result.rows), 1))} each:"
    )
    out.lines(table(rows, "  "))
    out.say(f"  total worst case: {_money(result.total)} {result.currency}/day")
    out.say(
        "  holds only for these models and these two quota families, at the price table's prices"
    )
    targets = _targets(args, result, infos) if args.project else []
    doc = _document(args, result, targets, limits)
    if not args.apply:
        out.document(doc)
        return 0
    if not targets:
        out.say(f"nothing to set in {args.project}: its quotas are at or below these already")
        out.document(doc)
        return 0
    out.say(f"set in {args.project} ({len(targets)} quota(s); a lower one is left as is):")
    quota_cli.show(out, targets, "    ")
    quota_cli.confirm(args.project, "set the ceiling", out, args.yes)
    applied = quota_cli.apply(out, args.project, PURPOSE, targets)
    doc["applied"] = applied.lowered
    doc["ok"] = not (applied.failures or applied.transient)
    out.document(doc)
    return 0 if doc["ok"] else 1


def _targets(args: argparse.Namespace, result: Any, infos: dict[str, Any]) -> list[Any]:
    from functions.quotas.ids import resolve
    from functions.quotas.plan import Target

    targets = []
    for row in result.rows:
        for family, value in (
            ("requests_per_day", row.requests_per_day),
            ("input_tokens_per_minute", row.input_tokens_per_minute),
        ):
            for quota_id in resolve(family, args.tier, infos):
                current = infos[quota_id].values.get(row.model)
                if current is None or current < 0 or current > value:
                    targets.append(Target(quota_id, row.model, value, current))
    return targets


def _document(
    args: argparse.Namespace, result: Any, targets: list[Any], limits: dict[str, int]
) -> dict[str, Any]:
    return {
        "daily": result.daily,
        "currency": result.currency,
        "total_worst_case": result.total,
        "models": {
            row.model: {
                "requests_per_day": row.requests_per_day,
                "input_tokens_per_minute": row.input_tokens_per_minute,
                "output_token_limit": row.output_token_limit,
                "output_token_limit_source": "models.get" if row.model in limits else "table",
                "input_rate": row.input_rate,
                "output_rate": row.output_rate,
                "long_context": row.long_context,
                "priced": row.known,
                "worst_case": row.worst_case,
            }
            for row in result.rows
        },
        # Terraform: infra variable quota_values (one google_cloud_quotas_quota_preference each).
        "quota_preferences": {
            f"{args.project}/{t.quota_id}/{t.model}": {
                "project": args.project,
                "quota_id": t.quota_id,
                "model": t.model,
                "value": t.value,
            }
            for t in targets
        },
    }
