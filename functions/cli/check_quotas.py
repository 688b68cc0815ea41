"""``check``'s quota lines: the Gemini quotas a guarded project's policy relies on.

    quotas P    (a rule uses throttle) each throttle family resolves to quota ids in P; the
                values in force per model now, and what throttle would lower them to
    ceiling P   (the policy has a ceiling) the worst case one day can cost under P's quotas in
                force now (functions/quotas/ceiling.py, today's prices) is at most ceiling.daily;
                a model without a finite requests-per-day and input-tokens-per-minute quota
                breaks it
Where several tiers' ids are present, the highest value in force counts (the safe side).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from functions.cli.output import FAIL, PASS, SKIP, Output
from functions.policy import Policy

__all__ = ["quota_checks"]


def _fmt(value: int) -> str:
    return "unlimited" if value < 0 else f"{value:,}"


def _in_force(infos: dict[str, Any], family: str, model: str) -> int | None:
    """The highest value in force for (family, model) among the tiers' ids; -1 unlimited."""
    from functions.quotas.ids import resolve

    values = [
        infos[q].values[model] for q in resolve(family, "auto", infos) if model in infos[q].values
    ]
    if not values:
        return None
    return -1 if any(v < 0 for v in values) else max(values)


def _throttle(out: Output, policy: Policy, project: str, infos: dict[str, Any]) -> dict[str, str]:
    from functions.quotas.ids import resolve

    assert policy.throttle is not None
    parts, missing = [], []
    for entry in policy.throttle.quotas:
        ids = resolve(entry.family, policy.throttle.tier, infos)
        if not ids:
            missing.append(entry.family)
        for quota_id in ids:
            listed = infos[quota_id].values
            models = (
                list(listed) if "*" in entry.models else [m for m in entry.models if m in listed]
            )
            above = [m for m in models if listed[m] < 0 or listed[m] > entry.value]
            shown = ", ".join(f"{m} {_fmt(listed[m])}" for m in above)
            parts.append(
                f"{quota_id}: {len(models)} model(s), throttle lowers {len(above)} to "
                f"{entry.value}" + (f" ({shown})" if shown else "")
            )
    if missing:
        return out.check(
            FAIL,
            f"quotas {project}",
            f"no {', '.join(missing)} quota for tier {policy.throttle.tier}: throttle would "
            "lower nothing there",
            "set throttle.tier to the project's usage tier (or auto)",
        )
    return out.check(PASS, f"quotas {project}", "; ".join(parts))


def _ceiling(out: Output, policy: Policy, project: str, infos: dict[str, Any]) -> dict[str, str]:
    from functions.prices import load_prices
    from functions.quotas.ceiling import rates, worst_case

    assert policy.ceiling is not None
    prices, daily = load_prices(), policy.ceiling.daily
    rpd_models = {m for q in infos.values() for m in q.values}
    models = list(policy.ceiling.models) or sorted(rpd_models)
    total, open_models, worst = Decimal(0), [], []
    for model in models:
        rpd = _in_force(infos, "requests_per_day", model)
        tpm = _in_force(infos, "input_tokens_per_minute", model)
        if rpd is None or tpm is None or rpd < 0 or tpm < 0:
            open_models.append(model)
            continue
        price, _ = prices.lookup(model)
        rate_in, rate_out, _long = rates(price, tpm, prices.long_context_tokens)
        cost = worst_case(rpd, tpm, price.output_token_limit or 65_536, rate_in, rate_out)
        total += cost
        worst.append((cost, model))
    fix = f"`budget-guard ceiling --daily {daily} --project {project} --apply`"
    name = f"ceiling {project}"
    if not models:
        return out.check(SKIP, name, "the project lists no Gemini model quotas")
    if open_models:
        return out.check(FAIL, name, f"no finite daily quota bounds {', '.join(open_models)}", fix)
    top = ", ".join(f"{m} {c:.2f}" for c, m in sorted(worst, reverse=True)[:3])
    detail = (
        f"worst case {total:.2f} {prices.currency}/day under the quotas in force "
        f"({len(models)} model(s); dearest: {top}), ceiling {daily}"
    )
    if total > daily:
        return out.check(FAIL, name, detail + ": exceeded", fix)
    return out.check(PASS, name, detail)


def quota_checks(out: Output, policy: Policy, project: str) -> list[dict[str, str]]:
    """The quota lines for ``project`` (none when the policy uses no quota brake)."""
    uses_throttle = not policy.is_protected(project) and any(
        "throttle" in rule.actions for rule in policy.rules
    )
    if not (uses_throttle and policy.throttle) and policy.ceiling is None:
        return []
    from functions.quotas import api

    try:
        infos = api.infos(project)
    except Exception as exc:  # one unreadable project must not hide the other checks
        return [
            out.check(
                FAIL,
                f"quotas {project}",
                f"cannot read the Gemini quotas: {exc}",
                f"grant the caller cloudquotas.quotas.get on projects/{project}",
            )
        ]
    checks = []
    if uses_throttle and policy.throttle:
        checks.append(_throttle(out, policy, project, infos))
    if policy.ceiling is not None:
        checks.append(_ceiling(out, policy, project, infos))
    return checks
